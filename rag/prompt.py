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


def source_label(article: Article | None) -> str:
    """How a source's article is named in the prompt: date and title."""
    if article is None:
        return "article"
    title = article.title if len(article.title) <= 80 else article.title[:77] + "..."
    return f"{article.date or 'undated'}, {title}"


def answer_messages(question: str, evidence: list[Evidence], articles: dict[str, Article]) -> list[Message]:
    """System and user messages asking for a cited answer from numbered evidence sentences."""
    sources = "\n".join(
        f"[{n}] ({source_label(articles.get(e.passage.doc_id))}) {_one_line(e.text)}"
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
