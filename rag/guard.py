"""Checks on the question itself: unusable input, and attempts to redirect the assistant."""

from __future__ import annotations

import re
import unicodedata

from rag.errors import BadQuestionError

_INSTRUCTION_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompt|rules|above|previous|context)\b",
    r"\b(system|hidden|initial)\s+prompt\b",
    r"\breveal\b.{0,30}\b(prompt|instructions?|rules)\b",
    r"\byou are now\b|\bact as\b|\bpretend (to be|you)\b|\brole-?play\b|\bjailbreak\b|\bDAN\b",
    r"^\s*(write|compose|generate|draft)\b.{0,40}\b(poem|song|story|essay|joke|code|script|haiku|limerick|recipe)\b",
    r"\b(poem|haiku|limerick|song lyrics)\b",
    r"\b(translate|summari[sz]e)\b.{0,30}\b(instructions?|prompt)\b",
    # Asking for the prompt in other words: "your rules", "the instructions you were given", "the text above".
    r"\byour\s+(\w+\s+)?(instructions?|prompt|rules|guidelines|configuration|programming)\b",
    r"\b(instructions?|prompt|rules)\s+(you\s+(were|have been|are)\s+given|given to you)\b",
    r"\b(text|everything|words|messages?)\s+above\b|\b(hidden|secret|original)\s+(rules|instructions?)\b",
    r"\bnew instructions?\s*:|^\s*(system|assistant)\s*:|\bfrom now on,? you\b|\bapi[ _-]?key\b",
    # A question that starts by telling the assistant to drop what it was doing.
    r"^\s*(forget|ignore|disregard|never mind)\b",
    # Unrelated writing, or a changed voice.
    r"\b(tell|write|give)\s+(me\s+|us\s+)?(a|an|another)\s+(joke|story|riddle|poem|song)\b",
    r"\b(as|like)\s+an?\s+(pirate|poet|rapper|comedian|cowboy|five-year-old)\b|\bin the style of\b",
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
