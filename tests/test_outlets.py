"""Questions that name an outlet ("according to the Valley Courier") read that outlet's articles,
and are answered from them with the real embedder, reader and abstention model (texts written
for this test)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from index.build import build_index
from index.embed import make_embedder
from rag.catalog import named_outlet_forms, named_outlets
from rag.logistic import Logistic
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Article

ARTICLES = {
    "courier.txt": "Tram drivers walk out over night shifts\nFebruary 10, 2024\nSource: Valley Courier\n\n"
    "Tram drivers in Eastvale walked out on Saturday in a dispute over night shifts. Union leader Bea Okafor "
    "said 300 drivers joined the strike and that talks with the operator had broken down. The operator said "
    "buses would replace trams on the three busiest lines.",
    "post.txt": "Harbour crane contract signed\nFebruary 12, 2024\nSource: Harbour Post\n\n"
    "The port of Gullhaven signed a contract for four new cranes on Monday. The cranes will be delivered "
    "next spring, the port authority said, and will double the number of containers handled each day.",
    "ledger.txt": "Bus drivers accept pay offer\nFebruary 14, 2024\nSource: Market Ledger\n\n"
    "Bus drivers in Linton accepted a pay offer on Wednesday, ending a week of talks. About 120 drivers "
    "voted on the offer, the union said, and services run normally again.",
}


def article(doc_id: str, source: str | None) -> Article:
    return Article(doc_id=doc_id, title="t", date="2024-02-10", source=source, body="b", content_hash=doc_id, path="")


def test_an_outlet_is_named_as_it_is_written() -> None:
    articles = {
        a.doc_id: a
        for a in (article("a", "Valley Courier"), article("b", "Times"), article("c", "CNN"), article("d", None))
    }
    assert [a.doc_id for a in named_outlets("According to the Valley Courier, who spoke?", articles)] == ["a"]
    assert named_outlets("How many times did the council vote?", articles) == []  # a word, not the Times
    assert [a.doc_id for a in named_outlets("What did the Times report?", articles)] == ["b"]
    assert [a.doc_id for a in named_outlets("what did cnn say?", articles)] == ["c"]  # a name in capitals
    assert named_outlet_forms("Who spoke, according to the Valley Courier?", articles) == {"valley courier"}
    # A name that is every article's outlet names none in particular, and one no article has stays a name.
    same = {a.doc_id: a for a in (article("a", "Valley Courier"), article("b", "Valley Courier"))}
    assert named_outlet_forms("According to the Valley Courier, who spoke?", same) == set()
    assert named_outlet_forms("According to the BBC, who spoke?", articles) == set()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    root = tmp_path_factory.mktemp("outlets")
    docs = root / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings = Settings.from_env(data_dir=root / "data", documents=docs, seeds="off", llm="fake")
    build_index(settings, make_embedder(settings))
    return Pipeline(settings)


class Recording(Logistic):
    """The pipeline's abstention model, keeping the signals it was given."""

    def __init__(self, model: Logistic) -> None:
        super().__init__(**vars(model))
        self.seen: list[dict[str, float]] = []

    def probability(self, values: dict[str, float]) -> float:
        self.seen.append(dict(values))
        return super().probability(values)


def test_a_question_naming_an_outlet_is_answered_from_its_article(pipeline: Pipeline) -> None:
    question = "According to the Valley Courier, how many drivers joined the strike?"
    pipeline.abstainer = recording = Recording(pipeline.abstainer)
    answer = pipeline.ask(question)
    # The outlet is not a name the passages must mention: it says which articles to read.
    assert recording.seen and all(s["entity_unknown"] == 0.0 for s in recording.seen)
    assert not answer.abstained, answer.text
    assert {c.doc_id for c in answer.citations} == {"courier"} and {h.passage.doc_id for h in answer.contexts} == {
        "courier"
    }
    assert answer.short_answer is not None and "300" in answer.short_answer.text
    assert answer.standalone_question == question  # shown as asked, outlet and all


def test_a_question_naming_an_outlet_whose_articles_do_not_say_abstains(pipeline: Pipeline) -> None:
    answer = pipeline.ask("According to the Harbour Post, how many drivers joined the strike?")
    assert answer.abstained and {h.passage.doc_id for h in answer.contexts} <= {"post"}


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """Fourteen short articles, a year apart, more than a question retrieves (fake embedder:
    metadata answers need no model)."""
    root = tmp_path_factory.mktemp("dated")
    docs = root / "docs"
    docs.mkdir()
    topics = ["tram strike", "crane contract", "bus pay offer", "ferry fares", "bridge repair", "kite festival"]
    topics += ["harbour dredging", "library opening", "museum roof", "marathon route", "orchard harvest"]
    topics += ["school meals", "wind farm", "seal count"]
    for i, topic in enumerate(topics):
        byline = "By Mara Quell\n" if topic == "ferry fares" else ""
        text = (
            f"The {topic} story\nMarch {i + 1}, {2011 + i}\n{byline}\nThe {topic} was the talk of the town on Monday."
        )
        (docs / f"a{i}.txt").write_text(text, encoding="utf-8")
    settings = Settings.from_env(data_dir=root / "data", documents=docs, seeds="off", llm="fake", embedder="fake")
    build_index(settings, make_embedder(settings))
    return Pipeline(settings)


def test_which_article_came_out_first_is_asked_of_the_whole_archive(dated: Pipeline) -> None:
    for question in ("Which article is the oldest?", "Which article is the most recent?"):
        answer = dated.ask(question)
        assert answer.mode == "metadata" and "March 1, 2011" in answer.text and "March 14, 2024" in answer.text
        assert len(answer.citations) == 2  # the first and the last, not the archive


def test_when_an_article_described_by_its_subject_was_published(dated: Pipeline) -> None:
    answer = dated.ask("When was the ferry fares article published?")
    assert answer.mode == "metadata" and answer.text.startswith("“The ferry fares story” is dated March 4, 2014")
    assert [c.doc_id for c in answer.citations] == ["a3"]
    # Words no article has: not a metadata answer about some other article.
    assert dated.ask("When was the article about the moon landing published?").mode != "metadata"


def test_who_wrote_an_article_is_answered_from_its_byline(dated: Pipeline) -> None:
    answer = dated.ask("Who wrote the ferry fares article?")
    assert answer.mode == "metadata" and "“The ferry fares story” is by Mara Quell." in answer.text
    assert [c.doc_id for c in answer.citations] == ["a3"] and "By: Mara Quell" in answer.citations[0].text
    answer = dated.ask("Who wrote the bridge repair article?")
    assert answer.mode == "metadata" and answer.text.endswith("“The bridge repair story” names no author. [1]")
    assert dated.ask("Who wrote the article about the moon landing?").mode != "metadata"


def test_order_questions_naming_no_article_are_about_the_whole_archive() -> None:
    from rag.catalog import metadata_answer
    from rag.query import parse_query

    articles = {
        d: Article(doc_id=d, title=d, date=day, source=None, body="b", content_hash=d, path="")
        for d, day in (("a", "2019-05-01"), ("b", "2021-05-01"), ("c", "2020-05-01"), ("d", "2024-05-01"))
    }
    related = [articles["b"], articles["c"]]  # the question's best passages happen to be in these
    answer = metadata_answer(parse_query("Which article is the oldest?"), articles, related)
    assert answer is not None and [a.doc_id for a in answer.articles] == ["a", "d"]
    # "The two articles" are the ones the question is about (its best passages'), not the archive.
    two = metadata_answer(parse_query("Which of the two articles is older?"), articles, related)
    assert two is not None and [a.doc_id for a in two.articles] == ["c", "b"]
    # Named articles are compared among themselves.
    named = metadata_answer(
        parse_query("Which came out first, the May 1, 2021 or the May 1, 2020 article?"), articles, related
    )
    assert named is not None and [a.doc_id for a in named.articles] == ["c", "b"]


@pytest.mark.parametrize(
    "question",
    [
        "What is the average yearly pay for an author in the UK, according to a new report?",
        "How is the minister's name written in each article?",
        "Who wrote the report that the article describes?",
        "Who is the author of the audit report in the article?",
        "When was the audit report published?",
        "When was the study mentioned in the article published?",
    ],
)
def test_questions_about_other_documents_are_not_about_the_articles_byline_or_date(question: str) -> None:
    from rag.catalog import metadata_answer
    from rag.query import parse_query

    body = (
        "An audit report published by the council describes the average yearly pay of an author in the UK. "
        "The study says the minister's name is written in each report."
    )
    about = Article(
        doc_id="a", title="Audit report", date="2024-01-01", source=None, body=body, content_hash="a", path=""
    )
    about = replace(about, author="Jane Roe")
    assert metadata_answer(parse_query(question), {"a": about}, [about]) is None


def test_every_article_the_subject_describes_is_dated() -> None:
    from rag.catalog import metadata_answer
    from rag.query import parse_query

    def story(d: str, day: str) -> Article:
        return Article(d, "Tram strike", day, None, "Tram drivers went on strike.", d, "")

    one, two = story("a", "2024-02-10"), story("b", "2024-03-01")
    other = Article("c", "Ferry fares", "2024-04-01", None, "Ferry fares rose.", "c", "")
    articles = {a.doc_id: a for a in (one, two, other)}
    answer = metadata_answer(parse_query("When was the tram strike article published?"), articles, [one, other, two])
    assert answer is not None and [a.doc_id for a in answer.articles] == ["a", "b"]


def test_a_source_no_article_is_from_or_mentions_gets_that_said_instead_of_other_outlets_answers(
    pipeline: Pipeline,
) -> None:
    answer = pipeline.ask("According to the BBC, how many drivers joined the strike?")
    assert answer.abstained and answer.text.startswith("No article in the archive is from or mentions BBC.")
    assert not answer.citations
    # A source the articles quote is no outlet, yet they say what it reports.
    quoted = pipeline.ask("According to Bea Okafor, how many drivers joined the strike?")
    assert not quoted.abstained and "300" in quoted.text
    # A source named with its article ("the Eastvale operator" is no name; "the Union of Tram Drivers" is).
    assert not pipeline.ask("According to the Eastvale union, how many drivers joined the strike?").abstained
    # The question without the source is answered as before.
    assert "300" in pipeline.ask("How many drivers joined the strike?").text


def test_only_a_name_right_after_according_to_is_a_source() -> None:
    from rag.query import parse_query

    assert parse_query("According to the BBC, how many drivers joined the strike?").attributed == ("BBC",)
    assert parse_query("How many drivers did the BBC say joined, according to police?").attributed == ()
    assert parse_query("According to union leader Bea Okafor, who struck?").attributed == ()


def test_a_source_is_heard_of_when_an_article_mentions_it_whatever_the_article_before_its_name() -> None:
    from index.names import Names
    from rag.pipeline import unheard_source
    from rag.query import Entity, Query

    class Words:
        """An archive that uses these words (no stop words: the lexical index keeps none)."""

        names = Names()

        def __init__(self, *words: str) -> None:
            self.words = set(words)

        def has_year(self, year: str) -> bool:
            return False

        def has_word(self, token: str, variants: bool = True) -> bool:
            return token in self.words

    def asking(*sources: str) -> Query:
        ents = tuple(Entity(s, "ORG", 0, len(s)) for s in sources)
        return Query("q", (), ents, "number", "how many", ("q",), False, False, attributed=sources)

    courier = {"a": article("a", "Valley Courier")}
    archive = Words("state", "department", "drivers")
    assert unheard_source(asking("the State Department"), courier, archive) is None
    assert unheard_source(asking("the BBC"), courier, archive) == "the BBC"
    assert unheard_source(asking("the Valley Courier"), courier, archive) is None  # an outlet, never in its text
    assert unheard_source(asking(), courier, archive) is None
    # A person the articles name by surname alone is heard of.
    assert unheard_source(asking("Mara Okoro"), courier, Words("okoro")) is None
    assert unheard_source(asking("Mara Okoro"), courier, Words("mara")) == "Mara Okoro"
