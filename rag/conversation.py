"""Follow-up questions rewritten into stand-alone questions from the chat history.

Only real follow-ups are rewritten: a question whose pronoun points at something it never names
("What else did he say?") or an ellipsis with no subject ("Why?"), as `Query.followup` tells from
spaCy's parse. A question with a subject of its own is asked as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.query import Query


@dataclass(frozen=True)
class Turn:
    """One exchange of the chat."""

    question: str
    answer: str = ""


def standalone_question(query: Query, history: list[Turn], earlier: list[Query]) -> str:
    """The question made self-contained: the names of the latest earlier question that has any are
    added when this one is a follow-up ("What did he say next? (Kowalczyk)"); otherwise the
    earlier question itself is added. `earlier` holds the parsed history questions, same order."""
    if not history or not query.followup:
        return query.text
    asked = query.text.lower()
    for q in reversed(earlier):
        names = [e.text for e in q.entities if e.text.lower() not in asked]
        if names:
            return f"{query.text} ({', '.join(dict.fromkeys(names))})"
    return f"{query.text} ({history[-1].question})"
