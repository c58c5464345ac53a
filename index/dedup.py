"""The same article arriving twice: indexed once, listed with every source it came from.

Exact copies share their normalized text. Near copies (the same wire story on two sites, one with
a different first line or a trailing "Read more") are found by MinHash over word 5-grams with
datasketch's LSH index, and kept only when their estimated Jaccard similarity is at least
NEAR_JACCARD: a rewrite of the story by another outlet is a different article, not a copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zlib
from typing import Any

import numpy as np

from rag.types import Article, Copy

NEAR_JACCARD = 0.85
NUM_PERM = 64
SHINGLE = 5
MIN_WORDS = 40  # shorter texts (a one-line feed summary) share 5-grams by chance too often
_WORD = re.compile(r"\w+")


def merge_copies(articles: list[Article]) -> tuple[list[Article], int]:
    """Articles with every copy folded into the first of its group (input order decides which is
    kept, so the result is stable); returns them and how many copies were folded."""
    group = list(range(len(articles)))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            group[max(a, b)] = min(a, b)

    exact: dict[str, int] = {}
    near = _Near()
    for i, a in enumerate(articles):
        words = _WORD.findall(a.body.lower())
        text = " ".join(words)
        if len(words) < MIN_WORDS:  # a short shared text (a feed's stock teaser) is not enough
            text += "\x1f" + a.title.lower() + "\x1f" + (a.url or "")
        key = hashlib.sha256(text.encode()).hexdigest()
        if key in exact:
            join(exact[key], i)
            continue
        exact[key] = i
        if len(words) >= MIN_WORDS:
            for j in near.add(i, words):
                join(j, i)
    copies: dict[int, list[Copy]] = {}
    for i, a in enumerate(articles):
        r = root(i)
        if r != i:
            copies.setdefault(r, []).append(Copy(a.doc_id, a.source, a.path, a.url, a.title))
            copies[r].extend(a.also)
    kept = [
        dataclasses.replace(a, also=a.also + tuple(copies[i])) if i in copies else a
        for i, a in enumerate(articles)
        if root(i) == i
    ]
    return kept, len(articles) - len(kept)


class _Near:
    """An LSH index of the sketches seen so far; `add` returns the earlier near copies."""

    def __init__(self) -> None:
        self._lsh: Any = None
        self._sketches: dict[int, object] = {}
        self._word_hash: dict[str, int] = {}

    def add(self, i: int, words: list[str]) -> list[int]:
        from datasketch import MinHash, MinHashLSH

        if self._lsh is None:
            self._lsh = MinHashLSH(threshold=NEAR_JACCARD, num_perm=NUM_PERM)
            self._first = MinHash(num_perm=NUM_PERM, seed=1)  # its permutations are made once, shared
        first = self._first
        sketch = MinHash(num_perm=NUM_PERM, hashfunc=int, permutations=first.permutations, scheme=first.scheme)
        sketch.update_batch(_shingles(words, self._word_hash).tolist())
        found = [j for j in self._lsh.query(sketch) if sketch.jaccard(self._sketches[j]) >= NEAR_JACCARD]
        self._lsh.insert(i, sketch)
        self._sketches[i] = sketch
        return found


def _shingles(words: list[str], known: dict[str, int]) -> np.ndarray:
    """32-bit hashes of every run of SHINGLE words (crc32 of each word, combined by position)."""
    for w in set(words).difference(known):
        known[w] = zlib.crc32(w.encode())
    h = np.fromiter((known[w] for w in words), dtype=np.uint64, count=len(words))
    n = len(h) - SHINGLE + 1
    out = np.zeros(max(n, 1), dtype=np.uint64)
    for k in range(SHINGLE):
        out = (out * np.uint64(1_000_003) + h[k : k + max(n, 1)]) & np.uint64(0xFFFFFFFF)
    return np.unique(out)
