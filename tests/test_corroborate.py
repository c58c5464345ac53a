from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.build import build_index
from index.embed import MiniLMEmbedder
from rag.cli import main
from rag.corroborate import is_comparative, relation, support_label
from rag.llm import FakeGenerator
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.spelling import fold, mentions, near
from rag.types import Article
from tests.conftest import SEEDS

APR8, APR7 = "000_f719a2aea238f342", "001_8c1d7f895dc4d7a5"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Izzat al-Shahbndar, who is closely connected", "al-Shahbandar"),
        ("Prime Minister Mohammed Shia as-Sudani", "al-Sudani"),
        ("Supreme Leader Ali Khameinei claimed", "Khamenei"),
        ("Foreign Minister Abbas Aragchi disputed", "Araghchi"),
        ("their main ally and patron, the Pasdaran, had given", "IRGC"),
        ("the Iranian Revolutionary Guard Corps (IRGC), the powerful", "Pasdaran"),
    ],
)
def test_spelling_variants_name_the_same_thing(text: str, name: str) -> None:
    assert mentions(text, name)


def test_different_names_stay_different() -> None:
    assert not mentions("Supreme Leader Ali Khameinei", "Sudani")
    assert not near("tehran", "tehrax1") and not near("iran", "iraq")
    assert fold("the Pasdaran") == fold("the IRGC") == "the irgc"


def test_relation_rules() -> None:
    a = "Reuters spoke to 10 commanders and officials about the talks."
    assert relation(a, "Ten commanders and officials told Reuters about the talks.", 0.8) == "same"
    assert relation(a, "Reuters spoke to 12 commanders and officials about the talks.", 0.8) == "conflict"
    assert relation(a, "The weather in Basra was hot on Monday.", 0.2) == ""
    # Similar but anchored on nothing they share and not similar enough on its own: not the same fact.
    assert relation("Trump threatened Iran.", "Netanyahu praised Egypt.", 0.65) == ""


def test_support_labels() -> None:
    arts = {
        APR8: Article(APR8, "t", "2025-04-08", None, "b", "h"),
        APR7: Article(APR7, "t", "2025-04-07", None, "b", "h"),
    }
    assert support_label([APR8, APR7], [], arts, 2) == "reported by both articles"
    assert support_label([APR7], [], arts, 2) == "only in the April 7 article"
    assert (
        support_label([APR7], [APR8], arts, 2)
        == "only in the April 7 article; the April 8 article reports it differently"
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does each article call the Iranian force?", True),
        ("Do both articles say the talks were advanced?", True),
        ("How do the reports differ on the warnings?", True),
        ("Which article quotes Hegseth?", True),
        ("How many fighters does the group have?", False),
    ],
)
def test_comparative_questions(question: str, expected: bool) -> None:
    assert is_comparative(question) is expected


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
        ("Which Iranian body gave the militias its blessing?", {APR8, APR7}),  # IRGC / Pasdaran
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
    assert first.label == ("reported by both articles" if len(docs) == 2 else first.label)
    assert first.label.startswith("reported by both") == (len(docs) == 2)


@pytest.mark.slow
def test_compare_mode_with_real_model(real_pipeline: Pipeline) -> None:
    answer = real_pipeline.ask("What did the Kataib Hezbollah commander say about Trump?", compare=True)
    assert answer.mode == "compare" and answer.comparison is not None
    assert {s.doc_id for s in answer.comparison.sides} == {APR8, APR7}
    assert any(set(docs) == {APR8, APR7} for _, docs in answer.comparison.agree)
    data = answer.to_json()["compare"]
    assert {"sides", "agree", "only", "conflicts"} <= set(data)
    assert "The April 7 article:" in answer.text and "The April 8 article:" in answer.text
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
