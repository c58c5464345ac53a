"""Small typed records passed between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Span = tuple[int, int]


@dataclass(frozen=True)
class Copy:
    """Another arrival of an indexed article (same text, or nearly): indexed once, listed here."""

    doc_id: str
    source: str | None = None
    path: str = ""
    url: str | None = None
    title: str = ""


@dataclass(frozen=True)
class Article:
    """A parsed article: metadata and a clean body that all offsets refer to."""

    doc_id: str
    title: str
    date: str | None  # ISO 8601 date, when the file gives one
    source: str | None
    body: str
    content_hash: str
    path: str = ""
    time: str | None = None  # time of day from the dateline, when given (e.g. "11:24")
    headline: bool = True  # False when the file had no headline and the title is its first sentence
    author: str | None = None
    url: str | None = None
    also: tuple[Copy, ...] = ()  # the same story arriving again (other files, other outlets)

    @property
    def sources(self) -> tuple[str, ...]:
        """Every outlet that carried this article, its own first."""
        names = [self.source] + [c.source for c in self.also]
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def label(self) -> str:
        """Short human label: title and date."""
        return f"{self.title} ({self.date})" if self.date else self.title


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences of one article, with exact character offsets into its body."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]  # absolute offsets into the article body

    def sentence_texts(self) -> list[tuple[Span, str]]:
        """Each sentence of the passage with its absolute span."""
        return [((s, e), self.text[s - self.start : e - self.start]) for s, e in self.sentences]


@dataclass(frozen=True)
class Hit:
    """A retrieved passage and its score under one retriever (or the fused ranking)."""

    passage: Passage
    score: float
    sources: tuple[str, ...] = ()  # which retrievers found it: "dense", "bm25"


@dataclass(frozen=True)
class Evidence:
    """One sentence of a retrieved passage that may answer the question."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Citation:
    """A numbered source backing part of an answer."""

    n: int
    doc_id: str
    title: str
    date: str | None
    text: str  # the whole passage
    sentence: str  # the supporting sentence
    start: int  # offsets of the supporting sentence in the article body
    end: int
    score: float
    passage_start: int = 0
    passage_end: int = 0
    source: str | None = None  # the article's outlet, when known
    also: tuple[Copy, ...] = ()  # the same article as it arrived from other files or outlets

    def to_json(self) -> dict[str, Any]:
        """The citation as the public JSON shape."""
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "date": self.date,
            "text": self.text,
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "source": self.source,
            "also": [{"doc_id": c.doc_id, "source": c.source, "url": c.url} for c in self.also],
        }


@dataclass(frozen=True)
class ArticleSupport:
    """Which articles report the fact a citation quotes."""

    n: int
    claim: str
    doc_ids: tuple[str, ...]
    conflicts: tuple[str, ...]
    label: str

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {"n": self.n, "doc_ids": list(self.doc_ids), "conflicts": list(self.conflicts), "label": self.label}


@dataclass(frozen=True)
class Side:
    """What one article says in answer to a compared question."""

    doc_id: str
    title: str
    date: str | None
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Comparison:
    """Side-by-side answers and how they relate."""

    sides: tuple[Side, ...]
    agree: tuple[tuple[str, tuple[str, ...]], ...]  # (claim, doc ids that report it)
    only: tuple[tuple[str, str], ...]  # (claim, the one doc id)
    conflicts: tuple[tuple[str, str, str, str], ...]  # (claim, doc id, other claim, other doc id)

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape of `rag ask --compare`."""
        return {
            "sides": [
                {
                    "doc_id": s.doc_id,
                    "title": s.title,
                    "date": s.date,
                    "sentences": [{"text": e.text, "start": e.start, "end": e.end} for e in s.evidence],
                }
                for s in self.sides
            ],
            "agree": [{"claim": c, "doc_ids": list(d)} for c, d in self.agree],
            "only": [{"claim": c, "doc_id": d} for c, d in self.only],
            "conflicts": [{"claim": c, "doc_id": d, "other": o, "other_doc_id": od} for c, d, o, od in self.conflicts],
        }


@dataclass(frozen=True)
class ShortAnswer:
    """The span that answers the question, verbatim from the cited article (`body[start:end] ==
    text`; a span of the headline has start = end = -1)."""

    text: str
    n: int  # the citation that proves it
    doc_id: str
    start: int
    end: int
    score: float  # the abstention model's P(answerable)

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "text": self.text,
            "n": self.n,
            "doc_id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Answer:
    """The final answer to one question."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    contexts: tuple[Hit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str = ""  # e.g. "LLM server unreachable; showing the passages"
    mode: str = ""  # generated | extractive | abstained
    id: str | None = None
    standalone_question: str = ""
    support: tuple[ArticleSupport, ...] = ()  # per citation: which articles report it
    comparison: Comparison | None = None  # set in compare mode
    short_answer: ShortAnswer | None = None
    signals: dict[str, float] = field(default_factory=dict)  # abstention features and P(answerable)

    def to_json(self) -> dict[str, Any]:
        """The answer as the public `rag ask --json` object."""
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "contexts": [
                {
                    "doc_id": h.passage.doc_id,
                    "text": h.passage.text,
                    "score": round(h.score, 4),
                    "start": h.passage.start,
                    "end": h.passage.end,
                }
                for h in self.contexts
            ],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "short_answer": self.short_answer.to_json() if self.short_answer else None,
        }
        if self.support:
            data["support"] = [s.to_json() for s in self.support]
        if self.comparison is not None:
            data["compare"] = self.comparison.to_json()
        if self.notice:
            data["notice"] = self.notice
        if self.mode:
            data["mode"] = self.mode
        return data


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the generator produces it (a draft, before verification)."""

    text: str


@dataclass(frozen=True)
class Final:
    """The verified answer; always the last event of a stream."""

    answer: Answer


Event = Token | Final
