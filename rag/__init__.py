"""Offline question answering over a news archive, with verified citations."""

__version__ = "0.1.0"
