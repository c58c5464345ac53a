"""The one settings object: defaults, help text, environment variables and overrides."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import SettingsError

ENV_PREFIX = "RAG_"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _default_seeds_dir() -> Path:
    seeds = PROJECT_ROOT / "seeds"
    return seeds if seeds.is_dir() else Path.cwd() / "seeds"


def _help(text: str, default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    if default is dataclasses.MISSING:
        return field(metadata={"help": text}, **kwargs)
    return field(default=default, metadata={"help": text}, **kwargs)


@dataclass(frozen=True)
class Settings:
    """Every knob of the product; read from RAG_* environment variables and CLI flags."""

    data_dir: Path = _help("Where the index and uploaded documents live.", Path(".rag"))
    seeds_dir: Path = _help("Folder of the demo articles.", default_factory=_default_seeds_dir)
    seeds: str = _help(
        "Index the demo articles: auto (only while the archive has no articles of its own), on, off.", "auto"
    )
    documents: Path = _help(
        "Folder of your own articles, indexed in place (empty = the documents folder inside the data "
        "directory, where `rag index PATH` and uploads copy files).",
        Path(""),
    )
    chroma_url: str = _help("Chroma server URL (http://host:port); empty = embedded store.", "")
    collection: str = _help("Chroma collection name prefix.", "passages")
    dense_search: str = _help(
        "Nearest passages by: exact (a scan of the generation's vector matrix, no Chroma on the "
        "question path), chroma (the store's HNSW index, embedded or on the server) or auto "
        "(exact with the embedded store, the server's index when chroma_url is set).",
        "auto",
    )
    chunk_size: int = _help("Target passage size in characters (whole sentences).", 600)
    chunk_overlap: int = _help("Characters of whole sentences repeated between passages.", 150)
    embedder: str = _help(
        "Embedding backend: minilm (packaged all-MiniLM-L6-v2, int8 on onnxruntime), minilm-torch "
        "(the same model on sentence-transformers and torch) or fake.",
        "minilm",
    )
    model_cache: Path = _help(
        "Where models derived from the packaged ones (the int8 embedder, the Q8_0 generator) are kept.",
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-news",
    )
    embed_batch_size: int = _help("Texts per embedding batch.", 64)
    max_file_bytes: int = _help("Largest article file accepted, in bytes.", 5_000_000)
    max_export_bytes: int = _help("Largest feed or export file (many articles) accepted, in bytes.", 2_000_000_000)
    llm: str = _help("Generator: embedded (SmolLM2 in-process), ollama, openai, fake.", "embedded")
    llm_model: str = _help("Model name for ollama/openai backends.", "")
    llm_url: str = _help("Base URL for ollama/openai backends.", "")
    llm_api_key: str = _help("API key for an OpenAI-compatible server, if it needs one.", "")
    llm_timeout: float = _help("Seconds to wait for an LLM server before giving up.", 30.0)
    llm_max_tokens: int = _help("Most tokens generated per answer.", 160)
    embedded_wording: str = _help(
        "Let the embedded 135M model word a sentence around a verified short answer: off or on. It "
        "may not state facts, so only a sentence stating the short answer is kept; on the kits' "
        "reported questions such a sentence survived verification for 3 of 62 short answers, at "
        "1.3 s each (p50), so by default the answer is the short answer and its quote. Servers "
        "(ollama, openai) always write the answer.",
        "off",
    )
    retrieval: str = _help("Retrieval mode: hybrid, dense or bm25.", "hybrid")
    top_k: int = _help("Passages retrieved per question.", 5)
    max_question_chars: int = _help("Longest question accepted, in characters.", 2000)
    host: str = _help("Address the web app binds to.", "127.0.0.1")
    port: int = _help("Port the web app listens on.", 7860)
    auth: str = _help("Login for the web app as user:password (empty = no login).", "")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from RAG_* variables, then apply explicit overrides (e.g. CLI flags)."""
        environ = os.environ if environ is None else environ
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in environ.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name not in names:
                raise SettingsError(f"unknown setting {key}; known: {', '.join(sorted(names))}")
            values[name] = raw
        for name, value in overrides.items():
            if name not in names:
                raise SettingsError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = value
        return cls()._replace(values)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (values are validated and coerced)."""
        return self._replace(changes)

    def _replace(self, changes: Mapping[str, Any]) -> Settings:
        types = {f.name: f.type for f in dataclasses.fields(self)}
        coerced = {}
        for name, value in changes.items():
            if name not in types:
                raise SettingsError(f"unknown setting {name!r}")
            coerced[name] = _coerce(name, str(types[name]), value)
        result = dataclasses.replace(self, **coerced)
        result._validate()
        return result

    @property
    def exact_search(self) -> bool:
        """True when dense search scans the generation's vector matrix rather than asking Chroma."""
        return self.dense_search == "exact" or (self.dense_search == "auto" and not self.chroma_url)

    def _validate(self) -> None:
        if self.retrieval not in ("hybrid", "dense", "bm25"):
            raise SettingsError(f"retrieval must be hybrid, dense or bm25, not {self.retrieval!r}")
        if self.llm not in ("embedded", "ollama", "openai", "fake"):
            raise SettingsError(f"llm must be embedded, ollama, openai or fake, not {self.llm!r}")
        if self.embedder not in ("minilm", "minilm-torch", "fake"):
            raise SettingsError(f"embedder must be minilm, minilm-torch or fake, not {self.embedder!r}")
        if self.dense_search not in ("auto", "exact", "chroma"):
            raise SettingsError(f"dense_search must be auto, exact or chroma, not {self.dense_search!r}")
        if self.embedded_wording not in ("on", "off"):
            raise SettingsError(f"embedded_wording must be on or off, not {self.embedded_wording!r}")
        if self.seeds not in ("auto", "on", "off"):
            raise SettingsError(f"seeds must be auto, on or off, not {self.seeds!r}")
        if self.chunk_size < 50:
            raise SettingsError("chunk_size must be at least 50 characters")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise SettingsError("chunk_overlap must be >= 0 and smaller than chunk_size")
        if not 1 <= self.top_k <= 50:
            raise SettingsError("top_k must be between 1 and 50")
        if self.auth and ":" not in self.auth:
            raise SettingsError("auth must look like user:password")

    @property
    def in_place(self) -> bool:
        """True when the documents are the user's own folder (RAG_DOCUMENTS), indexed where it is:
        nothing is copied into it or deleted from it."""
        return str(self.documents) not in ("", ".")

    @property
    def docs_dir(self) -> Path:
        """Folder of the user's own articles: where uploaded and added documents are copied."""
        return self.documents if self.in_place else self.data_dir / "docs"

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(environment variable, default, help) for every setting, for docs and --help."""
        rows = []
        for f in dataclasses.fields(cls):
            factory = f.default_factory
            default = f.default if f.default is not dataclasses.MISSING else factory()  # type: ignore[misc,operator]
            shown = "(empty)" if default in ("", Path("")) else str(default)  # Path("") prints as "."
            rows.append((ENV_PREFIX + f.name.upper(), shown, f.metadata["help"]))
        return rows


def _coerce(name: str, type_name: str, value: Any) -> Any:
    try:
        if "Path" in type_name:
            return Path(value).expanduser()
        if "int" in type_name:
            return int(value)
        if "float" in type_name:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name} has an invalid value {value!r}") from None
