"""Development kits (`../shared/evalsets/<kit>/`: `articles/` + `questions.jsonl`) and their fixed
split into a part that may be tuned and fitted on and a part that is only reported.

The split is by article: a question belongs to the article its evidence is in (answerable), or
that SQuAD names as its paragraph's title (SQuAD unanswerables). News unanswerables have no
article in the kit (theirs was withheld) and are split by their own id. An article or id goes to
the reported part when the first byte of its SHA-256 is odd, so the split is fixed by the names
alone, the same in every kit that holds the article (`mixed_dev` reuses the kits' ids and files),
and anyone can recompute it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from evals.dataset import GoldItem, load_dataset
from rag.errors import RagError

PARTS = ("tune", "report", "all")
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "evalsets"
_TITLE = re.compile(r"\btitle=([^,]+)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Kit:
    """A kit's questions, each with the article it is about (empty when the kit lacks it)."""

    name: str
    folder: Path
    items: tuple[GoldItem, ...]
    article_of: dict[str, str]

    @property
    def articles(self) -> Path:
        """The folder of article files."""
        return self.folder / "articles"

    def part(self, name: str) -> list[GoldItem]:
        """The questions of one part: tune, report, or all."""
        if name not in PARTS:
            raise RagError(f"unknown part {name!r}; choose from {', '.join(PARTS)}")
        if name == "all":
            return list(self.items)
        return [i for i in self.items if part_of(self.article_of[i.id] or i.id) == name]


def part_of(key: str) -> str:
    """'report' or 'tune' for an article name (or a question id): fixed by its SHA-256."""
    return "report" if hashlib.sha256(key.encode()).digest()[0] % 2 else "tune"


def _loose(text: str) -> str:
    return _SPACES.sub(" ", text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')).lower()


def load_kit(folder: Path) -> Kit:
    """Read a kit folder; a clear error when it is not one."""
    questions = folder / "questions.jsonl"
    articles = folder / "articles"
    if not questions.is_file() or not articles.is_dir():
        raise RagError(f"{folder} is not a kit: it needs articles/ and questions.jsonl")
    items = load_dataset(questions)
    texts = {p.stem: _loose(p.read_text(encoding="utf-8", errors="replace")) for p in sorted(articles.glob("*.txt"))}
    article_of: dict[str, str] = {}
    for item in items:
        found = ""
        for ev in item.evidence:
            needle = _loose(ev)
            found = next((stem for stem, text in texts.items() if needle in text), "")
            if found:
                break
        if not found:
            m = _TITLE.search(item.source)
            if m and m.group(1) in texts:
                found = m.group(1)
        article_of[item.id] = found
    return Kit(folder.name, folder, tuple(items), article_of)
