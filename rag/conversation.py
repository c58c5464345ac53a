"""Follow-up questions rewritten into stand-alone questions from the chat history."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import tokenize

_PRONOUN = re.compile(
    r"\b(he|she|they|him|her|his|hers|their|them|it|its|this|that|these|those|there|the same|the group|the groups)\b",
    re.I,
)
_FOLLOWUP_START = re.compile(r"^\s*(and|what about|how about|why|what else|anything else|more|also|so)\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][\w’'-]+(?:\s+(?:[A-Z][\w’'-]+|al-\w+|as-\w+|ash-\w+|of|the|in))*)")
_GENERIC_CAPS = {
    "What",
    "Who",
    "When",
    "Where",
    "Why",
    "How",
    "Which",
    "Did",
    "Does",
    "Do",
    "Is",
    "Are",
    "Was",
    "Were",
    "The",
    "A",
    "An",
    "And",
    "In",
    "On",
    "According",
    "Tell",
    "Can",
    "Could",
    "Has",
    "Have",
}


@dataclass(frozen=True)
class Turn:
    """One exchange of the chat."""

    question: str
    answer: str = ""


def needs_context(question: str) -> bool:
    """A question that leans on earlier turns: pronouns, 'what about ...', or very few content words."""
    if _PRONOUN.search(question) or _FOLLOWUP_START.search(question):
        return True
    return not subjects(question) and len(tokenize(question)) <= 2


def subjects(text: str) -> list[str]:
    """Named things in a text (capitalised phrases), in order, without question words."""
    names = []
    for m in _NAME.finditer(text):
        words = m.group().split()
        while words and words[0] in _GENERIC_CAPS:
            words.pop(0)
        phrase = " ".join(words)
        if phrase and phrase not in names:
            names.append(phrase)
    return names


def standalone_question(question: str, history: list[Turn]) -> str:
    """The question made self-contained: names from the latest earlier question are added when it
    leans on them (a 'What did he say next?' after a question about al-Shahbandar retrieves for him)."""
    if not history or not needs_context(question):
        return question
    for turn in reversed(history):
        names = [n for n in subjects(turn.question) if n.lower() not in question.lower()]
        if names:
            return f"{question} ({', '.join(names)})"
    return f"{question} ({history[-1].question})"


_PART_SPLIT = re.compile(
    r",?\s+(?:and|but)\s+(?=(?:what|when|where|who|whom|which|why|how|did|does|do|is|are|was|were|has|have)\b)", re.I
)


def question_parts(question: str) -> list[str]:
    """A two-part question ("Why X, and what Y?") split into its parts; otherwise the question."""
    parts = [p.strip(" ,?") for p in _PART_SPLIT.split(question) if len(p.strip(" ,?").split()) >= 3]
    return parts if len(parts) > 1 else [question]
