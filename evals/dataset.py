"""Gold sets in JSON Lines: {id, question, reference, answer_keys, evidence, answerable, type}."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError

DEFAULT_DATASET = Path(__file__).with_name("gold.jsonl")


@dataclass(frozen=True)
class GoldItem:
    """One question of a gold set."""

    id: str
    question: str
    reference: str
    answer_keys: list[list[str]]
    evidence: list[str]
    answerable: bool
    type: str
    docs: list[str] = field(default_factory=list)
    relation: str | None = None  # agree | only:<doc_id> | conflict (how the articles relate on it)
    source: str = ""  # provenance (kits: the source dataset, and for SQuAD the paragraph's title)


def load_dataset(path: Path | None = None) -> list[GoldItem]:
    """Read a gold set; extra fields are ignored, missing ones are a clear error."""
    path = path or DEFAULT_DATASET
    items = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(
                GoldItem(
                    id=str(raw["id"]),
                    question=raw["question"],
                    reference=raw.get("reference", ""),
                    answer_keys=raw.get("answer_keys", []),
                    evidence=raw.get("evidence", []),
                    answerable=bool(raw.get("answerable", True)),
                    type=raw.get("type", "unknown"),
                    docs=raw.get("docs", []),
                    relation=raw.get("relation"),
                    source=str(raw.get("source", "")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise RagError(f"{path}:{lineno}: not a gold record ({type(exc).__name__}: {exc})") from None
    return items


def fast_subset(items: list[GoldItem], n: int = 30) -> list[GoldItem]:
    """A fixed, type-balanced subset for CI: round-robin over question types."""
    by_type: dict[str, list[GoldItem]] = {}
    for item in items:
        by_type.setdefault(item.type, []).append(item)
    picked: list[GoldItem] = []
    while len(picked) < min(n, len(items)):
        for group in by_type.values():
            if group and len(picked) < n:
                picked.append(group.pop(0))
    return sorted(picked, key=lambda i: i.id)
