"""What the archive names, found at index time: spaCy's entities in every article, and aliases
learned from the articles themselves.

Two kinds of alias are learned, none written by hand:
- an acronym defined in the text, "World Health Organization (WHO)": the letters of the
  acronym are the initials of the capitalised words before the bracket (Schwartz & Hearst 2003);
- spellings of one name that differ by a letter or two across articles ("Zelensky" /
  "Zelenskiy"), clustered by rapidfuzz's normalized Levenshtein similarity within an entity type.
Everything is stored folded (index.text.fold), matched as whole words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.atomic import replace_atomically
from index.text import fold, words
from rag.types import Article

NAMES_FILE = "names.json"
MENTIONS_FILE = "mentions.npz"  # every mention as columns: read in milliseconds at any archive size
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "LAW"})
SPELLING_SIMILARITY = 90.0  # rapidfuzz ratio (0-100) of two spellings of one name
SPELLING_MIN_LENGTH = 6  # shorter names are too often different names a letter apart (Mali / Bali)
_ACRONYM = re.compile(r"\(([A-Z][A-Za-z&]{1,9})\)")
_SMALL = frozenset({"of", "the", "and", "for", "de", "du", "la", "le", "on", "in", "&", "al"})

Mention = tuple[int, int, str]  # start, end (offsets into the article body), spaCy label


def _clean(name: str) -> str:
    text = fold(name).strip(" .,;:'\"")
    text = re.sub(r"^the\s+", "", text)
    return re.sub(r"'s?$", "", text).strip()


def acronyms(text: str) -> list[tuple[str, str]]:
    """(long form, acronym) pairs a text defines: "... Health Organization (WHO)"."""
    pairs = []
    for m in _ACRONYM.finditer(text):
        short = m.group(1)
        letters = [c.lower() for c in short if c.isalpha() and c.isupper()] or [short[0].lower()]
        before = re.findall(r"[\w'’&-]+", text[max(0, m.start() - 200) : m.start()])
        picked: list[str] = []
        need = list(letters)
        for w in reversed(before):
            if not need:
                break
            if w.lower() in _SMALL and picked:
                picked.append(w)
                continue
            parts = [p for p in w.split("-") if p]
            initials = [p[0].lower() for p in parts if p[0].isupper()]
            if not initials or initials != need[-len(initials) :]:
                break
            need = need[: -len(initials)]
            picked.append(w)
        if not need and len(picked) >= 2:
            while picked and picked[-1].lower() in _SMALL:
                picked.pop()
            pairs.append((" ".join(reversed(picked)), short))
    return pairs


@dataclass
class Names:
    """Entities by article and the alias groups of the archive."""

    mentions: Mapping[str, list[Mention]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # content hash each article's mentions are of
    aliases: list[list[str]] = field(default_factory=list)
    _group: dict[str, int] | None = None
    _known: set[str] | None = None

    def forms(self, name: str) -> set[str]:
        """The folded forms that name the same thing: the name and its learned aliases."""
        key = _clean(name)
        if self._group is None:
            self._group = {form: i for i, group in enumerate(self.aliases) for form in group}
        i = self._group.get(key)
        return {key} | (set(self.aliases[i]) if i is not None else set())

    def known_names(self) -> set[str]:
        """Every folded entity text and alias of the archive."""
        if self._known is None:
            self._known = {f for group in self.aliases for f in group}
        return self._known

    def to_json(self) -> dict[str, object]:
        """The on-disk shape."""
        return {"mentions": self.mentions, "hashes": self.hashes, "aliases": self.aliases}

    @classmethod
    def from_json(cls, data: object, mentions: Mapping[str, list[Mention]] | None = None) -> Names:
        """Read back (ValueError when the shape is wrong); `mentions` when they are stored apart."""
        if not isinstance(data, dict):
            raise ValueError("names are not an object")
        if mentions is None:
            mentions = {str(d): [(int(s), int(e), str(lab)) for s, e, lab in v] for d, v in data["mentions"].items()}
        aliases = [[str(f) for f in g] for g in data["aliases"]]
        return cls(mentions, {str(k): str(v) for k, v in data.get("hashes", {}).items()}, aliases)


class MentionColumns(Mapping[str, list[Mention]]):
    """Every article's mentions as four columns (article, start, end, label), sorted by article;
    an article's list is made when it is asked for."""

    def __init__(
        self, docs: list[str], labels: list[str], doc: np.ndarray, start: np.ndarray, end: np.ndarray, label: np.ndarray
    ) -> None:
        if not (len(doc) == len(start) == len(end) == len(label)):
            raise ValueError("mention columns differ in length")
        if len(doc) and (doc.min() < 0 or doc.max() >= len(docs) or label.min() < 0 or label.max() >= len(labels)):
            raise ValueError("mention columns point outside their tables")
        if len(doc) > 1 and bool((np.diff(doc) < 0).any()):
            raise ValueError("mention columns are not sorted by article")
        self._docs, self._labels = docs, labels
        self._doc, self._start, self._end, self._label = doc, start, end, label
        bounds = np.searchsorted(doc, np.arange(len(docs) + 1))
        self._span = {d: (int(bounds[i]), int(bounds[i + 1])) for i, d in enumerate(docs)}

    @property
    def labels(self) -> list[str]:
        """The label table the label column indexes."""
        return self._labels

    @classmethod
    def of(cls, mentions: Mapping[str, list[Mention]]) -> MentionColumns:
        """Columns of mentions held by article."""
        docs = sorted(mentions)
        labels = sorted({lab for d in docs for _, _, lab in mentions[d]})
        code = {lab: i for i, lab in enumerate(labels)}
        rows = [(i, s, e, code[lab]) for i, d in enumerate(docs) for s, e, lab in mentions[d]]
        cols = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return cls(docs, labels, cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3])

    def __getitem__(self, doc_id: str) -> list[Mention]:
        a, b = self._span[doc_id]
        labels = self._labels
        return [
            (s, e, labels[lab])
            for s, e, lab in zip(self._start[a:b].tolist(), self._end[a:b].tolist(), self._label[a:b].tolist())
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)

    def __len__(self) -> int:
        return len(self._docs)

    def save(self, path: Path) -> None:
        """Write the four columns (atomically)."""

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # a file object: np.savez given a path would add ".npz" to it
                np.savez(
                    fh,
                    doc=self._doc.astype(np.int32),
                    start=self._start.astype(np.int32),
                    end=self._end.astype(np.int32),
                    label=self._label.astype(np.int16),
                )

        replace_atomically(path, write)

    @classmethod
    def load(cls, path: Path, docs: list[str], labels: list[str]) -> MentionColumns:
        """Read columns written by save(), for these article and label tables."""
        try:
            with np.load(path, allow_pickle=False) as data:
                cols = [np.asarray(data[k], dtype=np.int64) for k in ("doc", "start", "end", "label")]
        except OSError:
            raise
        except Exception as exc:  # numpy raises BadZipFile, EOFError, KeyError... for a damaged file
            raise ValueError(f"{path} is not a mentions table ({type(exc).__name__})") from None
        return cls(docs, labels, *cols)


def find_names(articles: Iterable[Article], previous: Names | None = None) -> Names:
    """Entities of every article (reusing the previous generation's for unchanged articles) and
    the aliases learned from all of them."""
    from index.nlp import names_of

    arts = list(articles)
    mentions: dict[str, list[Mention]] = {}
    todo = []
    for a in arts:
        if previous is not None and previous.hashes.get(a.doc_id) == a.content_hash:
            mentions[a.doc_id] = previous.mentions.get(a.doc_id, [])
        else:
            todo.append(a)
    for a, found in zip(todo, names_of([a.body for a in todo])):
        mentions[a.doc_id] = [m for m in found if m[2] in NAME_LABELS or m[2] in ("DATE", "CARDINAL", "MONEY")]
    return Names(mentions, {a.doc_id: a.content_hash for a in arts}, learn_aliases(arts, mentions))


def learn_aliases(articles: list[Article], mentions: dict[str, list[Mention]]) -> list[list[str]]:
    """Groups of folded forms naming one thing: every entity text, joined with the acronyms the
    articles define for it and with its near spellings in other articles."""
    by_label: dict[str, set[str]] = {}
    pairs: list[tuple[str, str]] = []
    for a in articles:
        for s, e, label in mentions.get(a.doc_id, []):
            if label in NAME_LABELS:
                form = _clean(a.body[s:e])
                if form:
                    by_label.setdefault(label, set()).add(form)
        for long, short in acronyms(a.body):
            pairs.append((_clean(long), _clean(short)))
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for forms in by_label.values():
        for f in forms:
            find(f)
    for long, short in pairs:
        union(long, short)
    from rapidfuzz import fuzz

    for forms in by_label.values():
        blocks: dict[str, list[str]] = {}
        for f in forms:
            if len(f) >= SPELLING_MIN_LENGTH:
                blocks.setdefault(f[:1], []).append(f)
        for block in blocks.values():
            block.sort()
            for i, one in enumerate(block):
                for other in block[i + 1 :]:
                    if (
                        abs(len(one) - len(other)) <= 2
                        and _same_shape(one, other)
                        and fuzz.ratio(one, other) >= SPELLING_SIMILARITY
                    ):
                        union(one, other)
    groups: dict[str, list[str]] = {}
    for f in parent:
        groups.setdefault(find(f), []).append(f)
    return sorted(sorted(g) for g in groups.values())


def _same_shape(a: str, b: str) -> bool:
    """Two spellings of one name have the same number of words, each nearly alike: not two
    people who share a surname (Jill Biden / Joe Biden are two)."""
    wa, wb = words(a), words(b)
    if len(wa) != len(wb):
        return False
    from rapidfuzz.distance import Levenshtein

    return all(Levenshtein.distance(x, y) <= 1 for x, y in zip(wa, wb))


def save_names(gen: Path, names: Names) -> None:
    """Write a generation's names: the mentions as columns (mentions.npz), the rest as names.json."""
    columns = names.mentions if isinstance(names.mentions, MentionColumns) else MentionColumns.of(names.mentions)
    columns.save(gen / MENTIONS_FILE)
    data = names.to_json() | {"mentions": None, "docs": list(columns), "labels": columns.labels}
    with open(gen / NAMES_FILE, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))


def load_names(gen: Path) -> Names:
    """The generation's names (empty when an older generation has none; an older names.json
    holds its mentions inline). A generation with its mention columns but no names.json has lost
    it: that is damage (ValueError), not an older index."""
    path = gen / NAMES_FILE
    if not path.is_file():
        if (gen / MENTIONS_FILE).is_file():
            raise ValueError(f"{NAMES_FILE} is missing beside {MENTIONS_FILE}")
        return Names()
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("mentions") is not None:
        return Names.from_json(data)
    docs, labels = data["docs"], data["labels"]
    if not all(isinstance(x, list) and all(isinstance(v, str) for v in x) for x in (docs, labels)):
        raise ValueError("names' article or label table is not a list of strings")
    return Names.from_json(data, MentionColumns.load(gen / MENTIONS_FILE, docs, labels))
