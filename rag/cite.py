"""Checked citations: every sentence of a generated answer must be supported by what it cites."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.chunk import split_sentences
from index.embed import Embedder
from index.text import contains_phrase, tokenize
from rag.types import Evidence

MARKER = re.compile(r"\[(\d+)\]")
MARKER_GROUP = re.compile(r"((?:\s*\[\d+\])+)")
# Thresholds tuned on the gold set with the real MiniLM model (see `rag eval`).
LEXICAL_MIN = 0.5  # share of the claim's content words found in the cited sentence
EMBED_MIN = 0.55  # cosine similarity of claim and cited sentence, together with LEXICAL_MIN
EMBED_ALONE = 0.8  # cosine similarity that supports a paraphrase on its own
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NEGATION = re.compile(r"\b(not|no|never|none|nobody|neither|nor|denied|denies|without)\b|n't\b", re.I)
_CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z’'-]{2,}")
_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fifty": "50",
    "hundred": "100",
}


@dataclass(frozen=True)
class Claim:
    """One sentence of a generated answer and the sources it cites (1-based)."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Support:
    """The outcome of checking one claim."""

    claim: Claim
    supported: bool
    source: int | None  # the source that supports it best
    reason: str = ""


def split_claims(answer: str, n_sources: int) -> list[Claim]:
    """Answer sentences with their [n] markers; a marker group belongs to the sentence before it,
    and markers that point nowhere are dropped."""
    claims: list[Claim] = []
    pieces = MARKER_GROUP.split(answer)
    for i in range(0, len(pieces), 2):
        segment = pieces[i]
        markers = pieces[i + 1] if i + 1 < len(pieces) else ""
        cited = tuple(dict.fromkeys(int(m) for m in MARKER.findall(markers) if 1 <= int(m) <= n_sources))
        sentences = [segment[s:e].strip() for s, e in split_sentences(segment)]
        sentences = [t for t in sentences if t.strip(" .,;:")]
        if not sentences:
            if claims and cited:  # "… sentence. [2]" with the marker after the full stop
                prev = claims.pop()
                claims.append(Claim(prev.text, tuple(dict.fromkeys(prev.cited + cited))))
            continue
        claims.extend(Claim(t, ()) for t in sentences[:-1])
        claims.append(Claim(sentences[-1], cited))
    return claims


def numbers(text: str) -> set[str]:
    """Numbers in a text, with thousands separators removed and small number words as digits."""
    found = {m.group().replace(",", "").rstrip(".") for m in _NUMBER.finditer(text)}
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[word])
    return found


def names(text: str) -> set[str]:
    """Capitalised words not at a sentence start: names, places, organisations."""
    return {m.group().lower().strip("’'-") for m in _CAPITAL.finditer(text)}


def check_claim(claim: Claim, evidence: list[Evidence], embedder: Embedder) -> Support:
    """Is the claim backed by one of the sources it cites (or, if it cites none, by any source)?"""
    words = tokenize(claim.text)
    if len(words) < 2:
        return Support(claim, False, None, "too short to be a claim")
    if claim.text.lower().startswith("the articles don't say"):
        return Support(claim, False, None, "abstention")
    candidates = list(claim.cited) or list(range(1, len(evidence) + 1))
    vecs = embedder.embed([claim.text] + [evidence[n - 1].text for n in candidates])
    sims = vecs[1:] @ vecs[0]
    best: Support | None = None
    for n, sim in sorted(zip(candidates, sims), key=lambda pair: -pair[1]):
        ok, reason = supports(claim.text, evidence[n - 1], float(sim))
        if ok:
            return Support(claim, True, n)
        if best is None:
            best = Support(claim, False, n, reason)
    return best or Support(claim, False, None, "no source")


def supports(claim: str, evidence: Evidence, similarity: float) -> tuple[bool, str]:
    """Numbers, names and negation must match; then word overlap and meaning must be close."""
    sentence, passage = evidence.text, evidence.passage.text
    missing_numbers = numbers(claim) - numbers(passage)
    if missing_numbers:
        return False, f"numbers not in source: {', '.join(sorted(missing_numbers))}"
    missing_names = {n for n in names(claim) if not contains_phrase(passage, n)}
    if missing_names:
        return False, f"names not in source: {', '.join(sorted(missing_names))}"
    if bool(_NEGATION.search(claim)) != bool(_NEGATION.search(sentence)):
        return False, "negation differs from source"
    claim_words = set(tokenize(claim))
    overlap = len(claim_words & set(tokenize(sentence))) / max(len(claim_words), 1)
    if (overlap >= LEXICAL_MIN and similarity >= EMBED_MIN) or similarity >= EMBED_ALONE:
        return True, ""
    return False, f"not close to the source (overlap {overlap:.2f}, similarity {similarity:.2f})"


def verify(answer: str, evidence: list[Evidence], embedder: Embedder) -> list[Support]:
    """Check every sentence of a generated answer against its sources."""
    return [check_claim(c, evidence, embedder) for c in split_claims(answer, len(evidence))]
