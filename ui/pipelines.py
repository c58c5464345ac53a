"""One Pipeline per distinct generator setting, created on first use and shared by every session."""

from __future__ import annotations

import threading
from collections.abc import Callable

from index.embed import Embedder, make_embedder
from rag.pipeline import Pipeline
from rag.settings import Settings

PipelineFactory = Callable[[Settings], Pipeline]
SERVER_BACKENDS = ("ollama", "openai")  # the backends for which a URL and a model name mean something


class Pipelines:
    """A cache of pipelines keyed by their settings; the embedding model is created once and shared."""

    def __init__(self, settings: Settings, factory: PipelineFactory | None = None) -> None:
        self.settings = settings
        self._factory = factory or self._default_factory
        self._cache: dict[Settings, Pipeline] = {}
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None

    def _default_factory(self, settings: Settings) -> Pipeline:
        return Pipeline(settings, embedder=self._shared_embedder())

    def _shared_embedder(self) -> Embedder:
        # Called under self._lock (from get), so the model is created once per process.
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    def settings_for(
        self, llm: str | None = None, llm_url: str | None = None, llm_model: str | None = None
    ) -> Settings:
        """The base settings with another generator; URL and model only count for server backends."""
        backend = llm or self.settings.llm
        if backend not in SERVER_BACKENDS:
            return self.settings.replace(llm=backend, llm_url="", llm_model="")
        url = self.settings.llm_url if llm_url is None else llm_url.strip()
        model = self.settings.llm_model if llm_model is None else llm_model.strip()
        return self.settings.replace(llm=backend, llm_url=url, llm_model=model)

    def get(self, llm: str | None = None, llm_url: str | None = None, llm_model: str | None = None) -> Pipeline:
        """The pipeline for these generator settings (the server's own when none are given)."""
        key = self.settings_for(llm, llm_url, llm_model)
        with self._lock:
            pipeline = self._cache.get(key)
            if pipeline is None:
                pipeline = self._cache[key] = self._factory(key)
            return pipeline

    @property
    def embedder(self) -> Embedder:
        """The embedder of the server's own pipeline, also used for index builds."""
        return self.get().embedder

    @property
    def created(self) -> int:
        """How many distinct pipelines exist so far."""
        return len(self._cache)
