"""The Gradio chat and the HTTP API: thin adapters over rag.pipeline."""
