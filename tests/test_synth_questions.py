"""Synthetic reading questions for the reader's pretraining (`evals.synth_questions`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from evals.synth_questions import QUESTION_WORD, build, question_for

PARAGRAPHS = [
    "The harbour bridge in Port Elliot was opened in 1932 by Mayor Tomas Berg. It cost about 4 million dollars "
    "and carried 12,000 cars a day by the end of the decade.",
    "Maria Lindholm coached the Riverside Rovers for nine seasons. Under her the club won the northern league "
    "twice, in 2004 and in 2009, before she moved to Oslo.",
]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "source.json"
    data = {"data": [{"title": "Town_history", "paragraphs": [{"context": p, "qas": []} for p in PARAGRAPHS]}]}
    path.write_text(json.dumps(data))
    return path


def test_every_synthetic_answer_is_the_span_at_its_offset_and_is_not_in_its_question(source: Path) -> None:
    result = build(source, per_paragraph=6, seed=1)
    qas = [(p["context"], qa) for a in result["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert len(qas) >= 6 and "synthetic questions" in result["note"]
    for context, qa in qas:
        (answer,) = qa["answers"]
        assert context[answer["answer_start"] :].startswith(answer["text"])
        assert answer["text"] not in qa["question"] and qa["question"].endswith("?")
        assert not qa["is_impossible"]


def test_the_question_word_asks_for_the_kind_of_name_the_answer_is(source: Path) -> None:
    result = build(source, per_paragraph=12, seed=1)
    words = {
        qa["answers"][0]["text"]: qa["question"] for a in result["data"] for p in a["paragraphs"] for qa in p["qas"]
    }
    asked = {answer: question.split()[0] for answer, question in words.items()}
    assert asked["1932"] == "When" and asked["Tomas Berg"] == "Who" and asked["Port Elliot"] == "Where"
    assert words["12,000"].startswith("How many ") and words["the northern league"].startswith("What ")
    assert {w for w in asked.values() if w != "How"} <= set(QUESTION_WORD.values())


def test_the_question_keeps_the_answer_s_neighbours_with_noise_but_never_the_answer() -> None:
    from index.nlp import load

    doc = load()("The harbour bridge in Port Elliot was opened in 1932 by Mayor Tomas Berg.")
    (date,) = [e for e in doc.ents if e.label_ == "DATE"]
    question = question_for(date, "When", random.Random(3))
    assert question.startswith("When ") and "1932" not in question
    kept = set(question[:-1].split()[1:])
    assert len(kept & {"harbour", "bridge", "Port", "Elliot", "opened", "Mayor", "Tomas", "Berg"}) >= 5


def test_the_same_seed_gives_the_same_questions(source: Path) -> None:
    assert build(source, seed=5) == build(source, seed=5)


def test_the_note_says_where_the_paragraphs_came_from(source: Path, tmp_path: Path) -> None:
    assert build(source)["note"].endswith("are not used")  # SQuAD's file has no note of its own
    noted = tmp_path / "noted.json"
    noted.write_text(json.dumps({**json.loads(source.read_text()), "note": "passages of 3 tune-part articles"}))
    assert build(noted)["note"].endswith("(passages of 3 tune-part articles)")


@pytest.mark.slow
def test_the_reader_trains_on_synthetic_questions_and_records_where_they_came_from(
    source: Path, tmp_path: Path
) -> None:
    from evals.train_reader import main

    synth = tmp_path / "synth.json"
    synth.write_text(json.dumps(build(source, seed=1)))
    out = tmp_path / "reader"
    assert main(["--data", str(synth), "--epochs", "1", "--batch", "4", "--out", str(out)]) == 0
    record = json.loads((out / "training.json").read_text())
    assert record["examples"] >= 6 and "synthetic questions" in record["data_note"]
    # Several files train together, each recorded (SQuAD's questions beside news-derived ones).
    other = tmp_path / "other.json"
    other.write_text(json.dumps(build(source, seed=2)))
    both = tmp_path / "both"
    assert main(["--data", str(synth), str(other), "--epochs", "1", "--batch", "4", "--out", str(both)]) == 0
    two = json.loads((both / "training.json").read_text())
    assert two["data"] == "synth.json + other.json" and two["data_note"].count("synthetic questions") == 2
    assert record["examples"] < two["examples"]
