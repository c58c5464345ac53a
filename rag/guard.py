"""Checks on the question itself: unusable input, and attempts to redirect the assistant.

Only questions are checked, with narrow patterns that need an instruction aimed at the assistant
("ignore your instructions", "reveal the system prompt", "write me a poem"); a question that only
uses a word of one ("What did Dan Campbell say?", "Which poem won the prize?") is a question.
Article text is never checked: it reaches the model only as numbered, quoted data.
"""

from __future__ import annotations

import re
import unicodedata

from rag.errors import BadQuestionError

_INSTRUCTION_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompt|rules|everything above|previous|context)\b",
    r"\b(system|hidden|initial)\s+prompt\b",
    r"\b(reveal|print|show|repeat|output)\b.{0,30}\b(prompt|instructions?|rules)\b",
    r"\byou are now\b|\bpretend (to be|you are)\b|\bjailbreak\b|\bdeveloper mode\b",
    r"^\s*(please\s+)?(write|compose|generate|draft)\s+(me\s+|us\s+)?(a|an|some)\s+(\w+\s+)?"
    r"(poem|song|story|essay|joke|code|script|haiku|limerick|recipe)\b",
    r"\byour\s+(\w+\s+)?(instructions?|prompt|rules|guidelines|configuration|programming)\b",
    r"\b(instructions?|prompt|rules)\s+(you\s+(were|have been|are)\s+given|given to you)\b",
    r"\bnew instructions?\s*:|^\s*(system|assistant)\s*:|\bfrom now on,? you\b",
    r"^\s*(forget|ignore|disregard|never mind)\b.{0,20}\b(that|this|above|previous|instructions?|everything)\b",
    r"\b(tell|write|give)\s+(me\s+|us\s+)(a|an|another)\s+(joke|story|riddle|poem|song)\b",
    r"\b(answer|reply|respond|talk|speak)\s+(as|like)\s+an?\s+\w+|\bin the style of\b|\bas an?\s+\w+\s+would\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.I)


def clean_question(question: object, max_chars: int) -> str:
    """The question with control characters removed and whitespace collapsed, or a clear error."""
    if not isinstance(question, str):
        raise BadQuestionError("the question must be text")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    text = " ".join(text.split())
    if not text:
        raise BadQuestionError("the question is empty; type a question about the articles")
    if len(text) > max_chars:
        raise BadQuestionError(f"the question is {len(text):,} characters long; the limit is {max_chars:,}")
    letters = sum(ch.isalnum() for ch in text)
    if letters < max(2, len(text) // 5):
        raise BadQuestionError("the question has no readable words")
    return text


def is_redirect_attempt(question: str) -> bool:
    """True for questions that try to change the assistant's instructions or ask for unrelated writing."""
    return bool(_INSTRUCTION.search(question))
