"""The general mechanisms: names and aliases learned from the archive, the parsed question, the
follow-up rule, and nothing in the product code that names the seeds' story."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from index.names import acronyms, find_names
from index.parse import parse_text
from rag.conversation import Turn, standalone_question
from rag.query import parse_query
from rag.settings import PROJECT_ROOT
from tests.conftest import SEEDS


def _article(doc_id: str, body: str):  # type: ignore[no-untyped-def]
    return parse_text(f"Headline of {doc_id}\nMarch 3, 2024\n{body}", doc_id)


def test_acronyms_defined_in_the_text_are_learned() -> None:
    text = "The World Health Organization (WHO) and the Federal Aviation Administration (FAA) met. She (Ann) left."
    assert acronyms(text) == [("World Health Organization", "WHO"), ("Federal Aviation Administration", "FAA")]


def test_aliases_are_learned_across_articles_and_matched_as_whole_names() -> None:
    a = _article(
        "a", "The North Atlantic Fishing Council (NAFC) met in Brightwater. Its chair, Thomas Lindqvist, spoke first."
    )
    b = _article("b", "The NAFC said on Monday that its chair, Thomas Lindqvistt, would step down after a vote.")
    names = find_names([a, b])
    assert "nafc" in names.forms("North Atlantic Fishing Council")
    assert "thomas lindqvistt" in names.forms("Thomas Lindqvist")  # one letter apart, same shape
    assert names.forms("Brightwater") == {"brightwater"}
    assert names.mentions["a"] and all(a.body[s:e] for s, e, _ in names.mentions["a"])


@pytest.mark.parametrize(
    ("question", "kind", "short"),
    [
        ("Which city will host next year's summit?", "thing", True),
        ("How many goals did Lindqvist score on Sunday?", "number", True),
        ("When did the council meet?", "date", True),
        ("Who chaired the council?", "person", True),
        ("Why did the chair step down?", "reason", False),
        ("How did the council react?", "manner", False),
        ("In what year was the treaty signed?", "date", True),
    ],
)
def test_the_question_is_parsed_once_into_a_query(question: str, kind: str, short: bool) -> None:
    q = parse_query(question)
    assert q.answer_type == kind and q.short is short and q.text == question


def test_query_holds_names_parts_and_terms() -> None:
    q = parse_query("Why did Mayor John Smith resign from the council, and who replaced him?")
    assert any("John Smith" in e.text for e in q.entities)
    assert len(q.parts) == 2 and "council" in q.terms


@pytest.mark.parametrize(
    ("question", "read"),
    [
        (
            "The Brightwater ferry sank on Monday. Which company ran it?",
            "Which company ran it? The Brightwater ferry sank on Monday.",
        ),
        ("Which company ran the ferry that sank on Monday?", "Which company ran the ferry that sank on Monday?"),
        ("Who ran the ferry? Reports differ.", "Who ran the ferry? Reports differ."),
        ("The ferry's owner sold it in March.", "The ferry's owner sold it in March."),
        ("The ferry sank on Monday. Which company ran it", "Which company ran it The ferry sank on Monday."),
        (
            "The captain who steered the ferry retired. Where was he born?",
            "Where was he born? The captain who steered the ferry retired.",
        ),
        ("Name the company. It ran the ferry which sank.", "Name the company. It ran the ferry which sank."),
    ],
)
def test_the_reader_gets_the_asking_sentence_first_and_its_lead_in_after(question: str, read: str) -> None:
    q = parse_query(question)
    assert q.for_reader == read and q.text == question


@pytest.mark.parametrize(
    "question", ["What else did he say?", "What is its population?", "Why?", "And then?", "Who is she?"]
)
def test_real_follow_ups_are_rewritten_with_the_names_of_the_earlier_question(question: str) -> None:
    history = [Turn("What did Ana Kowalczyk say about the harbour?", "...")]
    q = parse_query(question)
    assert q.followup
    assert standalone_question(q, history, [parse_query(history[0].question)]).endswith("(Ana Kowalczyk)")


@pytest.mark.parametrize(
    "question",
    [
        "Which billionaire recently lost his top spot as the richest man?",
        "A cheese product is seeing a boost in popularity. Which product is it?",
        "What did Dan Campbell say after the game?",
        "When was this proclamation issued?",
    ],
)
def test_questions_with_a_subject_of_their_own_are_not_rewritten(question: str) -> None:
    assert not parse_query(question).followup


@pytest.mark.slow
def test_no_kit_question_is_taken_for_a_follow_up() -> None:
    from evals.dataset import load_dataset
    from evals.kits import DEFAULT_ROOT

    for kit in ("news_dev", "squad2_dev"):
        items = load_dataset(DEFAULT_ROOT / kit / "questions.jsonl")
        rewritten = [i.question for i in items if parse_query(i.question).followup]
        assert rewritten == [], kit


def _seed_names() -> set[str]:
    from index.nlp import names_of

    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    found = set()
    lower = {w for t in texts for w in re.findall(r"\b[a-z][\w'’-]+", t)}
    for text, ents in zip(texts, names_of(texts)):
        for s, e, label in ents:
            if label in ("PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"):
                # Words the seeds also write in lower case ("state") are ordinary words, not names.
                found.update(
                    w for w in re.findall(r"[A-Z][\w'’-]+", text[s:e]) if len(w) >= 4 and w.lower() not in lower
                )
    return found


def test_product_code_names_none_of_the_seeds_people_places_or_outlets() -> None:
    names = _seed_names()
    assert {"Reuters", "Iraq"} <= names  # the seeds' outlet and country are found
    hits = []
    for folder in ("rag", "index", "ui"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")) + sorted((PROJECT_ROOT / folder).rglob("*.txt")):
            text = path.read_text(encoding="utf-8")
            for name in names:
                if re.search(rf"\b{re.escape(name)}\b", text):
                    hits.append(f"{path.relative_to(PROJECT_ROOT)}: {name}")
    assert hits == []


def test_kit_split_is_by_article_and_fixed(tmp_path: Path) -> None:
    from evals.kits import load_kit, part_of

    (tmp_path / "articles").mkdir()
    for i in range(8):
        (tmp_path / "articles" / f"art{i}.txt").write_text(f"Headline {i}\nMarch 3, 2024\nFact number {i} is here.\n")
    lines = [
        json.dumps(
            {
                "id": f"q{i}{j}",
                "question": "Q?",
                "answerable": True,
                "answer_keys": [[str(i)]],
                "evidence": [f"Fact number {i} is here."],
            }
        )
        for i in range(8)
        for j in range(2)
    ]
    lines.append('{"id": "u1", "question": "Unanswerable?", "answerable": false, "answer_keys": [], "evidence": []}')
    (tmp_path / "questions.jsonl").write_text("\n".join(lines) + "\n")
    kit = load_kit(tmp_path)
    tune, report = kit.part("tune"), kit.part("report")
    assert len(tune) + len(report) == 17 and tune and report
    assert {kit.article_of[i.id] for i in tune}.isdisjoint({kit.article_of[i.id] for i in report})
    assert all(part_of(kit.article_of[i.id]) == "report" for i in report if kit.article_of[i.id])
    assert part_of("art3") == part_of("art3")


def _many_texts(n: int) -> list[str]:
    people = ["Mara Quinlan", "Tobias Okafor", "Ines Várela", "Piet de Roos"]
    places = ["Lisbon", "Nairobi", "Osaka", "Winnipeg"]
    return [
        f"{people[i % 4]} spoke in {places[(i * 3) % 4]} on March {i % 28 + 1}, 2024, about {i + 3} new buses."
        for i in range(n)
    ]


def test_a_long_list_of_texts_is_shared_with_helper_processes_and_comes_back_in_order() -> None:
    from index.nlp import PARALLEL_MIN_TEXTS, _Helper, names_of

    texts = _many_texts(PARALLEL_MIN_TEXTS + 37)
    alone = names_of(texts, processes=1)
    shared = names_of(texts, processes=2)
    assert shared == alone and len(shared) == len(texts)
    helper = _Helper(texts[-50:], 16)  # a helper really answers (the caller's fallback hides it otherwise)
    assert helper.result() == alone[-50:] and not helper.failure
    labels = {label for found in alone for _, _, label in found}
    assert {"PERSON", "GPE", "DATE"} <= labels


def test_passage_names_are_the_full_pipelines_names_with_ner_alone() -> None:
    from index.nlp import PASSAGE_PIPES, load, names_of

    nlp = load()
    # NER has a tok2vec layer of its own: the shared one serves the tagger and parser only.
    assert "ner" not in nlp.get_pipe("tok2vec").listening_components and "tok2vec" not in PASSAGE_PIPES
    texts = _many_texts(12) + [
        line for p in sorted(SEEDS.glob("*.txt")) for line in p.read_text(encoding="utf-8").splitlines() if line
    ]
    full = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
    assert names_of(texts, processes=1) == full and sum(map(len, full)) > 50


def test_a_helper_that_cannot_run_leaves_its_share_to_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    from index.nlp import PARALLEL_MIN_TEXTS, names_of

    texts = _many_texts(PARALLEL_MIN_TEXTS)
    alone = names_of(texts, processes=1)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # every helper exits 1 without output
    assert names_of(texts, processes=2) == alone
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # cannot even start
    assert names_of(texts, processes=2) == alone


def test_names_are_stored_as_columns_and_read_back_the_same(tmp_path: Path) -> None:
    from index.names import MENTIONS_FILE, NAMES_FILE, MentionColumns, Names, load_names, save_names

    mentions = {"b": [(0, 4, "PERSON"), (9, 15, "GPE")], "a": [(3, 7, "ORG")], "c": []}
    names = Names(mentions, {"a": "h1", "b": "h2", "c": "h3"}, [["who", "world health organization"]])
    save_names(tmp_path, names)
    back = load_names(tmp_path)
    assert isinstance(back.mentions, MentionColumns) and (tmp_path / MENTIONS_FILE).is_file()
    assert dict(back.mentions) == mentions and back.mentions.get("zzz", []) == []
    assert back.hashes == names.hashes and back.forms("WHO") == {"who", "world health organization"}
    # A generation written before the columns (mentions inline in names.json) still reads.
    (tmp_path / MENTIONS_FILE).unlink()
    (tmp_path / NAMES_FILE).write_text(json.dumps(names.to_json()))
    assert dict(load_names(tmp_path).mentions) == mentions
    # An index from before names were kept has neither file and reads as having none.
    (tmp_path / NAMES_FILE).unlink()
    assert not dict(load_names(tmp_path).mentions)
