"""Prompts are data files next to this module; this builds the chat messages from them."""

from __future__ import annotations

from functools import cache
from importlib import resources

from rag.llm import Message
from rag.types import Article, Evidence


@cache
def load_prompt(name: str) -> str:
    """The text of rag/prompts/<name>.txt."""
    return resources.files("rag").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")


# The embedded model reads about 360 prompt tokens a second on two cores (its Q8_0 copy, see
# rag/llm.py): every source word delays the first answer token, so sources are labelled by date
# only and long ones are cut.
SOURCE_WORDS = 40


# The answer asked for is one or two sentences on one line. The small embedded model sometimes
# goes on to copy the prompt back ("\n[2] (2025-04-07 article) ...") up to the token limit: its
# draft ends where a line after the answer's first words would start a source, a new paragraph or
# one of the prompt's headings.
ECHO_MARKERS = ("\n[", "\n\n", "\nSources:", "\nQuestion:")


def before_echo(draft: str) -> tuple[str, bool]:
    """The draft up to where it starts copying the prompt back, and whether it did (blank lines
    before the answer's first words are not a copy)."""
    begin = len(draft) - len(draft.lstrip())
    cut = min((i for i in (draft.find(m, begin) for m in ECHO_MARKERS) if i >= 0), default=-1)
    return (draft, False) if cut < 0 else (draft[:cut], True)


def undecided(draft: str) -> int:
    """How many characters at the draft's end could be the start of an echo marker (held back
    from the live draft until the next piece tells)."""
    return max((n for m in ECHO_MARKERS for n in range(1, len(m)) if draft.endswith(m[:n])), default=0)


def source_label(article: Article | None) -> str:
    """How a source's article is named in the prompt: its date (titles cost tokens and, for a
    small model, add nothing to the answer)."""
    if article is None or not article.date:
        return "undated article"
    return f"{article.date} article"


def clip(text: str, words: int = SOURCE_WORDS) -> str:
    """The text on one line, cut to its first `words` words."""
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + " …"


def answer_messages(question: str, evidence: list[Evidence], articles: dict[str, Article]) -> list[Message]:
    """System and user messages asking for a cited answer from numbered evidence sentences."""
    sources = "\n".join(
        f"[{n}] ({source_label(articles.get(e.passage.doc_id))}) {clip(e.text)}"
        for n, e in enumerate(evidence, start=1)
    )
    return [
        {"role": "system", "content": load_prompt("answer_system").strip()},
        {
            "role": "user",
            "content": load_prompt("answer_user").format(sources=sources, question=_one_line(question)).strip(),
        },
    ]


def _one_line(text: str) -> str:
    return " ".join(text.split())
