"""The Gradio chat and the HTTP API: thin adapters over rag.pipeline."""

from ui.gradio_stubs import skip_stub_writer

# Before anything here imports gradio: its component classes are then defined without rewriting
# their type stubs (ui/gradio_stubs.py), two thirds of the import's time.
skip_stub_writer()
