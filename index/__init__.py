"""Ingestion: article files -> parsed articles -> passages -> a persistent vector index."""
