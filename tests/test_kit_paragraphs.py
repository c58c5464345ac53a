"""A kit's tuning articles as reader-training passages (`evals.kit_paragraphs`), on a kit written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.kit_paragraphs import build, half_of
from evals.kits import part_of

BODY = (
    "The river ferry at Kessler Point carried its last passengers on Sunday after 61 years of service. "
    "Harbour master Ines Vogt said the crossing had lost money every winter since 2015. "
    "A new bridge, built for 48 million dollars, opens to cars next spring, the county said. "
    "Residents gathered on the pier to wave the crew goodbye, and the captain sounded the horn three times."
)


def _kit(root: Path, n: int = 16) -> Path:
    (root / "articles").mkdir(parents=True)
    (root / "questions.jsonl").write_text("")
    for i in range(n):
        text = f"Ferry story number {i} ends\nMarch {i + 1} 2021\n{BODY}\n{BODY.replace('Sunday', 'Monday')}\n"
        (root / "articles" / f"story-{i:02d}.txt").write_text(text)
    return root


def test_only_tuning_articles_are_used_and_the_halves_split_them(tmp_path: Path) -> None:
    kit = _kit(tmp_path / "kit")
    stems = [p.stem for p in sorted((kit / "articles").glob("*.txt"))]
    tune = {s for s in stems if part_of(s) == "tune"}
    assert tune and len(tune) < len(stems)  # the fixed hash puts some in each part
    whole = build(kit)
    a, b = build(kit, half="a"), build(kit, half="b")
    assert set(whole["articles"]) == tune
    assert set(a["articles"]) | set(b["articles"]) == tune and not set(a["articles"]) & set(b["articles"])
    assert all(half_of(s) == "a" for s in a["articles"])
    for other in ("report", "all"):
        with pytest.raises(ValueError, match="only the tuning part"):
            build(kit, part=other)


def test_passages_are_the_product_s_with_the_headline_as_title(tmp_path: Path) -> None:
    kit = _kit(tmp_path / "kit")
    data = build(kit)
    first = data["data"][0]
    assert first["title"].startswith("Ferry story number") and "March" not in first["title"]
    contexts = [p["context"] for p in first["paragraphs"]]
    assert len(contexts) >= 2 and all(
        len(c) <= 700 and c in (BODY + "\n" + BODY.replace("Sunday", "Monday")) for c in contexts
    )
    assert all(p["qas"] == [] for p in first["paragraphs"])
    json.dumps(data)  # what the script writes
