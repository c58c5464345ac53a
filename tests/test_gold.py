"""Sanity checks for the hand-made evaluation sets: evals/gold.jsonl (the tuning set),
evals/heldout.jsonl (written later; its misses shaped the abstention rules too) and
evals/fresh.jsonl (written by someone who had not seen the system; its misses were later read) and
evals/blind.jsonl (written the same way on 2026-11-26; only its totals have been looked at)."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
GOLD = ROOT / "evals" / "gold.jsonl"
HELDOUT = ROOT / "evals" / "heldout.jsonl"
FRESH = ROOT / "evals" / "fresh.jsonl"
BLIND = ROOT / "evals" / "blind.jsonl"
SETS = {"gold": (GOLD, "q"), "heldout": (HELDOUT, "h"), "fresh": (FRESH, "f"), "blind": (BLIND, "b")}
SEEDS = ROOT / "seeds"

KEYS = {
    "id": str,
    "question": str,
    "reference": str,
    "answer_keys": list,
    "evidence": list,
    "answerable": bool,
    "type": str,
    "docs": list,
    "relation": (str, type(None)),
}
ANSWERABLE_TYPES = {"single_fact", "number_date", "both_articles", "one_article", "multi_sentence", "comparison"}
UNANSWERABLE_TYPES = {"unanswerable_out_of_archive", "unanswerable_false_premise", "unanswerable_instruction"}
RELATIONS = {"agree", "conflict", "only:000_f719a2aea238f342", "only:001_8c1d7f895dc4d7a5"}
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def norm(s):
    return re.sub(r"\s+", " ", s.translate(QUOTES)).strip().lower()


def _load_lines(path=GOLD):
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module", params=sorted(SETS))
def dataset(request):
    return request.param


@pytest.fixture(scope="module")
def records(dataset):
    return [json.loads(line) for line in _load_lines(SETS[dataset][0]) if line.strip()]


@pytest.fixture(scope="module")
def seeds():
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    assert texts, f"no seed files found in {SEEDS}"
    return texts


def test_every_line_parses(dataset):
    lines = _load_lines(SETS[dataset][0])
    assert lines, f"{dataset} is empty"
    for n, line in enumerate(lines, 1):
        assert line.strip(), f"blank line {n}"
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {n} is not an object"


def test_keys_and_types(records, dataset):
    for r in records:
        assert set(r) == set(KEYS), (r.get("id"), sorted(set(r) ^ set(KEYS)))
        for k, t in KEYS.items():
            assert isinstance(r[k], t), (r["id"], k, type(r[k]))
        assert re.fullmatch(SETS[dataset][1] + r"\d{3}", r["id"]), r["id"]
        assert r["question"].strip() and r["reference"].strip(), r["id"]
        assert r["type"] in ANSWERABLE_TYPES | UNANSWERABLE_TYPES, (r["id"], r["type"])
        for group in r["answer_keys"]:
            assert isinstance(group, list) and group, (r["id"], group)
            for alt in group:
                assert isinstance(alt, str) and alt.strip(), (r["id"], alt)
        for e in r["evidence"]:
            assert isinstance(e, str) and e.strip(), (r["id"], e)
        for d in r["docs"]:
            assert isinstance(d, str), (r["id"], d)


def test_ids_unique_and_ordered(records, dataset):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1]
    assert ids == [f"{SETS[dataset][1]}{i:03d}" for i in range(1, len(ids) + 1)]


def test_docs_exist(records, seeds):
    for r in records:
        for d in r["docs"]:
            assert d in seeds, (r["id"], d)


def test_evidence_verbatim(records, seeds):
    for r in records:
        for e in r["evidence"]:
            in_docs = any(e in seeds[d] for d in r["docs"] if d in seeds)
            in_any = any(e in t for t in seeds.values())
            assert in_docs or in_any, (r["id"], e)
            assert in_docs, (r["id"], "evidence not in its listed docs", e)


def test_answerable_consistency(records):
    for r in records:
        if r["answerable"]:
            assert r["type"] in ANSWERABLE_TYPES, r["id"]
            assert r["answer_keys"], r["id"]
            assert r["evidence"], r["id"]
            assert r["docs"], r["id"]
        else:
            assert r["type"] in UNANSWERABLE_TYPES, r["id"]
            assert r["answer_keys"] == [], r["id"]
            assert r["evidence"] == [], r["id"]
            assert r["docs"] == [], r["id"]


def test_answer_keys_supported(records):
    for r in records:
        if not r["answerable"]:
            continue
        haystack = norm(" ".join(r["evidence"]) + " " + r["reference"])
        for group in r["answer_keys"]:
            assert any(norm(alt) in haystack for alt in group), (r["id"], group)


def test_both_articles_evidence_from_both_docs(records, seeds):
    for r in records:
        if r["type"] == "both_articles":
            hit = {d for d in seeds for e in r["evidence"] if e in seeds[d]}
            assert len(hit) >= 2, (r["id"], "both_articles needs evidence from both")


def test_sizes(records, dataset):
    n = len(records)
    types = Counter(r["type"] for r in records)
    unans = sum(1 for r in records if not r["answerable"])
    assert n >= {"gold": 80, "heldout": 50, "fresh": 30, "blind": 60}[dataset], n
    assert unans / n >= 0.15, (unans, n)
    assert types["comparison"] >= {"gold": 20, "heldout": 4, "fresh": 2, "blind": 4}[dataset], types
    assert {t for t in types} >= UNANSWERABLE_TYPES, types


# Asked word for word by two writers who never saw each other's sets ("Who is Sudani's foreign
# affairs adviser?" is gold q073 too): a coincidence, not a copy.
SAME_BY_CHANCE = {"b004"}


@pytest.mark.parametrize("later, earlier", [(HELDOUT, [GOLD]), (BLIND, [GOLD, HELDOUT, FRESH])])
def test_later_sets_ask_new_questions(later, earlier):
    seen = {norm(json.loads(line)["question"]) for path in earlier for line in _load_lines(path) if line.strip()}
    new = [json.loads(line) for line in _load_lines(later) if line.strip()]
    assert [r["id"] for r in new if norm(r["question"]) in seen and r["id"] not in SAME_BY_CHANCE] == []


def test_relation_values(records):
    for r in records:
        if r["answerable"]:
            assert r["relation"] in RELATIONS, (r["id"], r["relation"])
        else:
            assert r["relation"] is None, (r["id"], r["relation"])


def test_only_relation_evidence_in_that_article(records, seeds):
    for r in records:
        rel = r["relation"]
        if isinstance(rel, str) and rel.startswith("only:"):
            doc = rel[len("only:") :]
            assert doc in seeds, (r["id"], rel)
            for e in r["evidence"]:
                assert e in seeds[doc], (r["id"], rel, "evidence not in that article", e)
