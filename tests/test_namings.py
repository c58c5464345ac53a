from __future__ import annotations

import pytest

from index.build import build_index
from index.chunk import chunk_article
from index.embed import HashEmbedder
from index.parse import parse_text
from rag.llm import FakeGenerator
from rag.namings import asks_spelling, name_forms, render_forms
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Article, Evidence

APRIL_7 = (
    "Militias weigh disarmament\nApril 7, 2025\n"
    "Izzat al-Shahbandar, a senior Shiite politician close to the governing alliance, told Reuters the talks "
    "were advanced. Prime Minister Mohammed Shia as-Sudani leads the talks. Kataib Hezbollah denied it.\n"
)
APRIL_8 = (
    "Iraqi groups may disarm\nApril 8, 2025\n"
    "Izzat al-Shahbndar, who is close to the government, told Reuters the talks were very advanced. "
    "Prime Minister Mohammed Shia al-Sudani leads the talks. Kataib Hezbollah denied it.\n"
)


def _evidence(*articles: Article) -> list[Evidence]:
    """Every sentence of the articles as evidence, in the given order, scores falling."""
    out = []
    for article in articles:
        for passage in chunk_article(article, 2000, 0):
            for (start, end), text in passage.sentence_texts():
                out.append(Evidence(passage, start, end, text, 1.0 - 0.01 * len(out)))
    return out


@pytest.fixture
def articles() -> dict[str, Article]:
    return {a.doc_id: a for a in (parse_text(APRIL_8, "b"), parse_text(APRIL_7, "a"))}


def test_a_described_name_is_found_with_each_articles_spelling(articles: dict[str, Article]) -> None:
    evidence = _evidence(articles["b"], articles["a"])
    forms = name_forms("How do the two articles spell the surname of the Shiite politician?", evidence)
    assert forms is not None and forms.differ
    assert {forms.first.form, forms.second.form} == {"al-Shahbandar", "al-Shahbndar"}
    text, citations = render_forms(forms, articles)
    # Older article first, each spelling cited to the sentence that writes it.
    assert text == (
        "The articles spell it differently: the April 7 article writes “al-Shahbandar” [1]; "
        "the April 8 article writes “al-Shahbndar” [2]."
    )
    assert [c.doc_id for c in citations] == ["a", "b"]
    assert "al-Shahbandar" in citations[0].sentence and "al-Shahbndar" in citations[1].sentence
    body = articles["a"].body
    assert body[citations[0].start : citations[0].end] == citations[0].sentence


def test_a_different_arabic_prefix_is_a_different_spelling(articles: dict[str, Article]) -> None:
    forms = name_forms("How is the prime minister's name written in each article?", _evidence(*articles.values()))
    assert forms is not None and forms.differ and {forms.first.form, forms.second.form} == {"al-Sudani", "as-Sudani"}


def test_a_name_both_write_alike_only_when_the_question_uses_it(articles: dict[str, Article]) -> None:
    evidence = _evidence(*articles.values())
    forms = name_forms("Do the articles spell Kataib Hezbollah the same way?", evidence)
    assert forms is not None and not forms.differ and forms.first.form in ("Kataib", "Hezbollah")
    assert render_forms(forms, articles)[0].startswith("Both articles write “")
    # Alike, but the question does not ask whether they match: not a spelling answer.
    assert name_forms("How do the articles spell Kataib Hezbollah?", evidence) is None
    # A name no sentence is about, or one article only, gives no answer.
    assert name_forms("How do the articles spell the name of the Houthi leader?", evidence) is None
    assert name_forms("How do the articles spell the surname of the politician?", _evidence(articles["a"])) is None


@pytest.mark.parametrize(
    "question, asks",
    [
        ("How do the two articles spell the surname?", True),
        ("How is his name written in each article?", True),
        ("What did the politician write to Reuters?", False),  # writing, not a name's spelling
        ("Can you spell out what the deal involves?", False),
        ("How does each report render the adviser's surname?", True),
        ("How many fighters do the militias command?", False),
    ],
)
def test_spelling_questions(question: str, asks: bool) -> None:
    assert asks_spelling(question) is asks


def test_the_pipeline_answers_a_spelling_question_from_the_seeds(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    fake = FakeGenerator()
    answer = Pipeline(settings, HashEmbedder(), fake).ask(
        "How do the two articles spell the surname of the Shiite politician who spoke to Reuters?"
    )
    assert answer.mode == "spelling" and not answer.abstained and fake.history == []
    assert "Shahbandar" in answer.text and "Shahbndar" in answer.text
    assert len(answer.citations) == 2 and len({c.doc_id for c in answer.citations}) == 2
    # A name the archive never mentions still abstains.
    assert Pipeline(settings, HashEmbedder(), fake).ask("How do the articles spell Basra?").abstained


def test_a_derived_word_is_not_a_spelling_difference() -> None:
    a = parse_text("Talks\nApril 7, 2025\nThe strikes on Israel worried the commanders in Baghdad.\n", "a")
    b = parse_text("More talks\nApril 8, 2025\nThe Israeli strikes worried the commanders in Baghdad.\n", "b")
    assert name_forms("How do the two articles spell Israel?", _evidence(a, b)) is None


def test_questions_about_what_was_written_are_not_spelling_questions(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    answer = Pipeline(settings, HashEmbedder(), FakeGenerator()).ask("What did Reuters write about Kataib Hezbollah?")
    assert answer.mode != "spelling"
