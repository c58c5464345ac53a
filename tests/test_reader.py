"""The committed extractive reader and the abstention model fitted on its signals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.abstain import load_model, model_path
from rag.errors import RagError
from rag.reader import Context, OnnxReader, widen
from rag.spans import SPAN_FEATURES, load_spans
from rag.spans import model_path as spans_path

TEXTS = [
    (
        "Which city will host next year's summit?",
        Context(
            "Leaders pick a host",
            "Leaders agreed on Tuesday that next year's summit will be held in Nairobi, the Kenyan capital.",
        ),
        "Nairobi",
    ),
    (
        "How many volunteers cleaned the beach?",
        Context("", "About 1,200 volunteers cleaned the beach at Port Elliot on Saturday, the organisers said."),
        "1,200",
    ),
    (
        "Who was named the new coach of the team?",
        Context("Team names coach", "The club said on Friday that Maria Lindholm was named the new coach of the team."),
        "Maria Lindholm",
    ),
]


@pytest.fixture(scope="module")
def reader() -> OnnxReader:
    return OnnxReader()


@pytest.mark.parametrize(("question", "context", "answer"), TEXTS)
def test_committed_reader_finds_the_span_that_answers(
    reader: OnnxReader, question: str, context: Context, answer: str
) -> None:
    (r,) = reader.read(question, [context])
    assert answer in r.text and len(r.text.split()) <= 4
    assert context.joined[r.start : r.end] == r.text  # offsets are exact


def test_reader_prefers_no_answer_when_the_passage_does_not_say(reader: OnnxReader) -> None:
    question = "Which city will host next year's summit?"
    right = Context("", "Leaders agreed that next year's summit will be held in Nairobi.")
    wrong = Context("", "The river flooded three villages after a week of heavy rain, officials said.")
    a, b = reader.read(question, [right, wrong])
    assert a.margin > b.margin and b.margin < 0


def test_long_contexts_are_read_in_windows(reader: OnnxReader) -> None:
    filler = " ".join(f"Sentence {i} says nothing about the matter." for i in range(60))
    ctx = Context("", filler + " The bridge was opened by Mayor Tomas Berg in 1998. " + filler)
    (r,) = reader.read("Who opened the bridge?", [ctx])
    assert "Tomas Berg" in r.text and ctx.joined[r.start : r.end] == r.text


def test_a_passage_reads_the_same_whatever_it_is_read_with(reader: OnnxReader) -> None:
    # Dynamic int8 quantization scales activations over a whole run: read in one padded batch,
    # a passage's scores depended on the other passages beside it.
    question, ctx, _ = TEXTS[0]
    others = [c for _, c, _ in TEXTS[1:]] + [Context("", "A much longer passage about other things. " * 12)]
    (alone,) = reader.read(question, [ctx])
    beside = reader.read(question, [*others, ctx])[-1]
    assert (beside.text, beside.score, beside.null) == (alone.text, alone.score, alone.null)


def test_spans_are_widened_to_whole_words() -> None:
    text = "It cost $4.5 million, officials said."
    assert widen(text, 9, 12) == (8, 12)  # "4.5" -> "$4.5"
    assert text.__getitem__(slice(*widen(text, 15, 18))) == "million"  # a word piece grows to its word
    # A number's separators are tokens of their own: a span from inside one grows to the whole number.
    count = "Rangers counted 1,450 grey seal pups, up from 1,210. Prices rose 2.5% in May."

    def grown(piece: str) -> str:
        i = count.index(piece)
        return count.__getitem__(slice(*widen(count, i, i + len(piece))))

    assert [grown(p) for p in ("450", "1", "210", "5%")] == ["1,450", "1,450", "1,210", "2.5%"]
    assert grown("pups,") == "pups"  # a comma after a word is not part of it
    listed = "The scores were 3,4 and 5."
    i = listed.index("3")
    assert listed.__getitem__(slice(*widen(listed, i, i + 1))) == "3"  # a list, not a number


def test_refitting_the_abstention_and_span_models_gives_the_committed_parameters() -> None:
    from evals.fit_abstain import TABLE, fit

    abstain, spans = fit(TABLE)
    assert abstain.to_json() == json.loads(model_path().read_text())
    assert spans.to_json() == json.loads(spans_path().read_text())
    assert 0 < load_model().threshold < 1 and load_model().features
    assert 0 < load_spans().threshold < 1 and load_spans().features == SPAN_FEATURES


@pytest.mark.slow
def test_training_script_runs_on_a_small_slice(tmp_path: Path) -> None:
    from evals.train_reader import main

    out = tmp_path / "reader"
    assert main(["--limit", "24", "--epochs", "1", "--batch", "8", "--out", str(out)]) == 0
    record = json.loads((out / "training.json").read_text())
    assert record["examples"] == 24 and record["steps"] == 3
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert main(["--export", str(out), str(tmp_path / "onnx")]) == 0
    reader = OnnxReader(tmp_path / "onnx")
    (r,) = reader.read("Who?", [Context("", "Ann came.")])
    assert Context("", "Ann came.").joined[r.start : r.end] == r.text


def test_reader_check_scores_a_kit(tmp_path: Path) -> None:
    from evals.reader_check import check

    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "Harbour.txt").write_text(
        "Harbour\nThe new harbour bridge was opened by Mayor Tomas Berg in 1998.\nThe river floods in spring.\n"
    )
    (tmp_path / "questions.jsonl").write_text(
        '{"id": "h1", "question": "Who opened the harbour bridge?", "answerable": true, "reference": "Mayor Tomas Berg", '
        '"answer_keys": [["Berg"]], "evidence": ["opened by Mayor Tomas Berg"]}\n'
        '{"id": "h2", "question": "Who closed the harbour bridge in 2005?", "answerable": false, '
        '"source": "title=Harbour", "answer_keys": [], "evidence": []}\n'
        '{"id": "h3", "question": "Who rebuilt the ferry pier?", "answerable": false, "source": "withheld", '
        '"answer_keys": [], "evidence": []}\n'
    )
    result = check(tmp_path, "all")
    assert result["questions"] == 2  # the question whose article the kit withheld is left out
    assert result["f1_own_paragraph"] > 0.5 and result["keys_own_paragraph"] == 1.0
    assert 0 <= result["no_answer_auc"] <= 1
    from evals.kit_paragraphs import half_of

    mine, other = half_of("Harbour"), {"a": "b", "b": "a"}[half_of("Harbour")]
    assert check(tmp_path, "all", half=mine)["questions"] == 2
    with pytest.raises(RagError, match="no answerable question"):  # none on the other half
        check(tmp_path, "all", half=other)


def test_alternative_spans_never_repeat_or_overlap_the_best_one(reader: OnnxReader) -> None:
    for question, ctx, _ in TEXTS:
        (r,) = reader.read(question, [ctx])
        spans = [(r.start, r.end), *((a.start, a.end) for a in r.alternatives)]
        assert len(r.alternatives) <= 2
        for i, (a0, a1) in enumerate(spans):
            assert "\n" not in ctx.joined[a0:a1]  # never from the headline into the text
            assert all(not (a0 < b1 and b0 < a1) for b0, b1 in spans[i + 1 :])
        assert all(ctx.joined[a.start : a.end] == a.text for a in r.alternatives)


def test_candidate_names_are_scored_by_the_reader_s_logits_beside_its_own_spans() -> None:
    import numpy as np

    from rag.reader import _decode

    text = "Ann met Bob in Rome.\nCleo stayed."
    words = [(0, 3), (4, 7), (8, 11), (12, 14), (15, 19), (21, 25), (26, 32)]  # Ann met Bob in Rome Cleo stayed
    first = 1  # position 0 is [CLS]
    start = np.full(first + len(words), -5.0)
    end = np.full(first + len(words), -5.0)
    start[0] = end[0] = 0.0  # no-answer
    start[1], end[1] = 4.0, 4.0  # "Ann": the reader's best span
    start[6], end[6] = 3.0, 3.0  # "Cleo" and "Bob": its next-best ones
    start[3], end[3] = 2.5, 2.5
    start[5], end[5] = 1.0, 1.5  # "Rome": weaker than every span it keeps
    cands = ((15, 19), (0, 3), (16, 19), (15, 25))  # Rome; Ann (the best span); not token-aligned; across the break
    r = _decode(start, end, first, len(words), words, text, cands)
    assert r.text == "Ann" and not r.proposed
    assert [(a.text, a.proposed) for a in r.alternatives] == [("Cleo", False), ("Bob", False), ("Rome", True)]
    assert r.alternatives[-1].score == 2.5 and r.alternatives[-1].prob > 0
    assert all(text[a.start : a.end] == a.text and "\n" not in a.text for a in r.alternatives)
    assert sum(a.text == "Ann" for a in (r, *r.alternatives)) == 1
