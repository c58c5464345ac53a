"""Synthetic trick questions for the reader's no-answer training (`evals.synth_unanswerable`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from evals.synth_unanswerable import build, change_number, negate, swap_name

HARBOUR = (
    "The harbour bridge in Port Elliot was opened in 1932 by Mayor Tomas Berg. It cost about 4 million dollars "
    "and carried 12,000 cars a day by the end of the decade."
)
ROVERS = (
    "Maria Lindholm coached the Riverside Rovers for nine seasons. Under her the club won the northern league "
    "twice, in 2004 and in 2009, before she moved to Oslo."
)


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    from index.nlp import load

    return load()


def test_a_swapped_name_has_the_same_type_and_is_nowhere_in_the_paragraph(nlp) -> None:  # type: ignore[no-untyped-def]
    doc = nlp("Who opened the harbour bridge in Port Elliot?")
    out = swap_name(
        doc, HARBOUR, [("Port Elliot", "GPE"), ("Oslo", "GPE"), ("Maria Lindholm", "PERSON")], random.Random(1)
    )
    assert out == "Who opened the harbour bridge in Oslo?"
    # No name of the question's type that the paragraph lacks: no swap.
    assert swap_name(doc, HARBOUR, [("Maria Lindholm", "PERSON")], random.Random(1)) is None


def test_a_changed_number_is_one_the_paragraph_never_writes(nlp) -> None:  # type: ignore[no-untyped-def]
    for seed in range(5):
        out = change_number(nlp("Which club did Maria Lindholm coach in 2004?"), ROVERS, random.Random(seed))
        assert out is not None and out != "Which club did Maria Lindholm coach in 2004?"
        year = out.split(" in ")[-1].rstrip("?")
        assert year.isdigit() and year not in ROVERS, out


def test_a_number_the_paragraph_writes_with_a_suffix_counts_as_written(nlp) -> None:  # type: ignore[no-untyped-def]
    paragraph = "Steam engines spread in the 18th century; electric motors overtook them in the 19th and 20th."
    for seed in range(8):
        out = change_number(nlp("What overtook steam engines in the 20th century?"), paragraph, random.Random(seed))
        assert out is None or not any(f"{n}th" in out for n in (18, 19)), out  # never a century the text names


def test_negation_goes_before_the_main_verb_and_never_twice(nlp) -> None:  # type: ignore[no-untyped-def]
    assert negate(nlp("When did Tomas Berg open the bridge?")) == "When did Tomas Berg not open the bridge?"
    assert negate(nlp("When did Tomas Berg not open the bridge?")) is None
    assert negate(nlp("Who was the mayor of Port Elliot?")) is None  # no verb for "not" to go before


def test_the_file_holds_only_trick_questions_aimed_at_their_original_answer(tmp_path: Path) -> None:
    qas = [
        {
            "id": "a1",
            "question": "When was the harbour bridge in Port Elliot opened?",
            "is_impossible": False,
            "answers": [{"text": "1932", "answer_start": HARBOUR.index("1932")}],
        },
        {
            "id": "a2",
            "question": "Who did Maria Lindholm coach for nine seasons?",
            "is_impossible": False,
            "answers": [{"text": "the Riverside Rovers", "answer_start": ROVERS.index("the Riverside Rovers")}],
        },
        {"id": "u1", "question": "Who closed the bridge?", "is_impossible": True, "answers": []},
    ]
    source = tmp_path / "source.json"
    data = {
        "data": [
            {
                "title": "Towns",
                "paragraphs": [{"context": HARBOUR, "qas": [qas[0], qas[2]]}, {"context": ROVERS, "qas": [qas[1]]}],
            }
        ]
    }
    source.write_text(json.dumps(data))
    result = build(source, share=1.0, seed=2)
    made = [(p["context"], qa) for a in result["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert {qa["id"].split("-")[0] for _, qa in made} == {"a1", "a2"}  # SQuAD's own trick question is not edited
    for context, qa in made:
        assert qa["is_impossible"] and qa["answers"] == []
        (plausible,) = qa["plausible_answers"]
        assert context[plausible["answer_start"] :].startswith(plausible["text"])
        original = next(q["question"] for q in qas if q["id"] == qa["id"].split("-")[0])
        assert qa["question"] != original
    assert "synthetic unanswerable questions" in result["note"]
