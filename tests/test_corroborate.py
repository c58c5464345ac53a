from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.build import build_index
from index.embed import MiniLMEmbedder
from index.text import contains_phrase, near
from rag.cli import main
from rag.corroborate import relation, support_label
from rag.llm import FakeGenerator
from rag.pipeline import Pipeline
from rag.query import parse_query
from rag.settings import Settings
from rag.types import Article
from tests.conftest import SEEDS

APR8, APR7 = "000_f719a2aea238f342", "001_8c1d7f895dc4d7a5"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Mayor Ana Kowalczyk, who is closely connected", "Kowalcyk"),  # one letter dropped
        ("Finance Minister Tomas Lindqvistt said", "Lindqvist"),
        ("the mayor of Brightwater said", "Brightwater"),
    ],
)
def test_spelling_variants_name_the_same_thing(text: str, name: str) -> None:
    assert contains_phrase(text, name)


def test_different_names_stay_different() -> None:
    assert not contains_phrase("Finance Minister Tomas Lindqvist", "Kowalczyk")
    assert not near("harbor", "harbxyz") and not near("iran", "iraq")
    # Whole words only: a name never matches inside a longer word, nor a folded alias.
    assert not contains_phrase("The Danish delegation arrived", "Dan")
    assert not contains_phrase("American officials said", "us")
    assert contains_phrase("Dan Campbell said", "Dan")


def test_relation_rules() -> None:
    a = "The agency spoke to 10 commanders and officials about the talks."
    assert relation(a, "Ten commanders and officials told the agency about the talks.", 0.8) == "same"
    assert relation(a, "The agency spoke to 12 commanders and officials about the talks.", 0.8) == "conflict"
    assert relation(a, "The weather in Portsmouth was hot on Monday.", 0.2) == ""
    # Similar but anchored on nothing they share and not similar enough on its own: not the same fact.
    assert relation("Lindqvist threatened Norway.", "Kowalczyk praised Chile.", 0.65) == ""


def test_support_labels_count_the_articles_that_cover_a_fact() -> None:
    arts = {
        d: Article(d, f"Headline {d}", f"2024-03-0{i}", "Daily Post" if i % 2 else None, "b", "h")
        for i, d in enumerate(["a1", "a2", "a3", "a4"], start=1)
    }
    assert support_label(["a1", "a2"], [], arts, 2).startswith("reported by all 2 articles that cover it")
    label = support_label(["a1", "a2", "a3"], [], arts, 4)
    assert label.startswith("reported by 3 of the 4 articles that cover it")
    assert "the Daily Post article of March 1, 2024" in label and "the article of March 2, 2024" in label
    assert support_label(["a2"], [], arts, 3) == "only in the article of March 2, 2024"
    assert support_label(["a2"], ["a1"], arts, 2).endswith(
        "the Daily Post article of March 1, 2024 reports it differently"
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does each article call the force?", True),
        ("Do both articles say the talks were advanced?", True),
        ("How do the reports differ on the warnings?", True),
        ("Which article quotes the minister?", True),
        ("Do all three reports agree on the date?", True),
        ("How many fighters does the group have?", False),
    ],
)
def test_comparative_questions(question: str, expected: bool) -> None:
    assert parse_query(question).comparative is expected


@pytest.fixture(scope="module")
def real_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    settings = Settings.from_env(data_dir=tmp_path_factory.mktemp("d"), seeds_dir=SEEDS, llm="fake")
    embedder = MiniLMEmbedder()
    build_index(settings, embedder)
    return Pipeline(settings, embedder, FakeGenerator())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "docs"),
    [
        ("What did al-Shahbandar say about whether the factions are acting stubbornly?", {APR8, APR7}),
        ("How many fighters do the groups of the Islamic Resistance in Iraq command?", {APR7}),
        ("When did Pete Hegseth phone Sudani?", {APR7}),
        ("Who disputed that direct talks would begin this weekend?", {APR8}),
    ],
)
def test_support_per_article_with_real_model(real_pipeline: Pipeline, question: str, docs: set[str]) -> None:
    answer = real_pipeline.ask(question)
    assert not answer.abstained
    first = answer.support[0]
    assert set(first.doc_ids) == docs, first
    assert first.label.startswith("reported by all 2 articles") == (len(docs) == 2)
    assert first.label.startswith("only in") == (len(docs) == 1)


@pytest.mark.slow
def test_compare_mode_with_real_model(real_pipeline: Pipeline) -> None:
    answer = real_pipeline.ask("What did the Kataib Hezbollah commander say about Trump?", compare=True)
    assert answer.mode == "compare" and answer.comparison is not None
    assert {s.doc_id for s in answer.comparison.sides} == {APR8, APR7}
    assert any(set(docs) == {APR8, APR7} for _, docs in answer.comparison.agree)
    data = answer.to_json()["compare"]
    assert {"sides", "agree", "only", "conflicts"} <= set(data)
    assert "The article of April 7, 2025:" in answer.text and "The article of April 8, 2025:" in answer.text
    body = real_pipeline.retriever().snapshot.articles
    for c in answer.citations:
        assert body[c.doc_id].body[c.start : c.end] == c.sentence


def test_cli_compare_json(tmp_path: Path) -> None:
    base = ["--embedder", "fake", "--data-dir", str(tmp_path / "d")]
    assert CliRunner().invoke(main, [*base, "index", "-q"]).exit_code == 0
    result = CliRunner().invoke(
        main,
        [
            *base,
            "ask",
            "--llm",
            "fake",
            "--compare",
            "--json",
            "What did the Kataib Hezbollah commander say about Trump?",
        ],
    )
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and "compare" in data and data["compare"]["sides"]
