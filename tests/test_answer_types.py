"""The fitted answer-type model: which kind of name a "which X" question asks for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.embed import HashEmbedder, OnnxMiniLMEmbedder
from rag.answer_types import CLASSES, class_of, load_answer_types, typed
from rag.query import head_noun, parse_query
from rag.settings import Settings


@pytest.fixture(scope="module")
def embedder() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder(Settings.from_env().model_cache)


def test_the_head_noun_is_the_noun_the_question_word_asks_for() -> None:
    from index.nlp import parse

    assert head_noun(parse("Which major US company plans to cut jobs?")) == "company"
    assert head_noun(parse("In which countries did the storm land?")) == "country"
    assert head_noun(parse("Who won the final?")) == ""
    assert head_noun(parse("What did the minister say?")) == ""


@pytest.mark.parametrize(
    ("noun", "kind"), [("country", "place"), ("company", "organization"), ("billionaire", "person"), ("type", "none")]
)
def test_the_committed_model_types_common_nouns(embedder: OnnxMiniLMEmbedder, noun: str, kind: str) -> None:
    model = load_answer_types()
    assert model is not None and set(model.classes) <= set(CLASSES)
    assert model.classify(embedder.embed([noun])[0])[0] == kind


def test_only_which_questions_are_typed_and_only_with_the_model_s_embeddings(embedder: OnnxMiniLMEmbedder) -> None:
    which = typed(parse_query("Which country hosted the regatta this year?"), embedder)
    assert "GPE" in which.labels and which.wanted == CLASSES["place"]
    who = typed(parse_query("Who hosted the regatta this year?"), embedder)
    assert who.wanted == frozenset() and "PERSON" in who.labels  # typed by its question word already
    fake = typed(parse_query("Which country hosted the regatta this year?"), HashEmbedder())
    assert fake.labels == frozenset()  # hashed vectors mean nothing to the model


def test_classes_follow_spacy_labels() -> None:
    assert class_of({"GPE"}) == "place" and class_of({"ORG"}) == "organization" and class_of(set()) == "none"


def test_the_fit_script_runs_on_data_written_for_the_test(tmp_path: Path) -> None:
    from evals.fit_answer_types import main

    paragraphs = [
        (
            "Kesteven Mills, a company in Leeds, hired 40 staff in March.",
            "Which company hired staff?",
            "Kesteven Mills",
        ),
        ("The ferry left Norway for Iceland on Monday.", "Which country did the ferry leave?", "Norway"),
        ("The sculptor Ada Quist made the statue.", "Which sculptor made the statue?", "Ada Quist"),
        ("The bakery sold rye bread all week.", "Which bread did the bakery sell?", "rye bread"),
    ]
    data = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": ctx,
                        "qas": [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}],
                    }
                    for i, (ctx, q, a) in enumerate(paragraphs)
                ],
            }
        ]
    }
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "squad2_train.json").write_text(json.dumps(data))
    out = tmp_path / "answer_types.json"
    assert main(["--root", str(tmp_path), "--out", str(out)]) == 0
    fitted = json.loads(out.read_text())
    assert "none" in fitted["classes"] and len(fitted["coef"]) == len(fitted["classes"])
    assert "on 4 answerable" in fitted["note"]
