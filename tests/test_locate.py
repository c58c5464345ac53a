"""Where a short answer is quoted from: the passage that holds it, also when the reader took it
from the headline and the body says it in another passage."""

from __future__ import annotations

from rag.abstain import Choice
from rag.pipeline import Pipeline, whole_word_at
from rag.reader import Context, Reading
from rag.types import Article, Hit, Passage

BODY = (
    "The harbour board met on Monday. Its members argued for hours about the budget. "
    "Dockworkers at Brightline Freight voted to strike next month. The vote was close."
)
FIRST = (0, 79)  # the first two sentences: no "Brightline" in them
SECOND = (80, len(BODY))


def _passage(pid: str, span: tuple[int, int]) -> Passage:
    s, e = span
    sentences = tuple((a, b) for a, b in ((0, 32), (33, 79), (80, 141), (142, len(BODY))) if s <= a and b <= e)
    return Passage(pid, "wire/strike", s, e, BODY[s:e], sentences)


ARTICLE = Article("wire/strike", "Brightline Freight faces a strike", "2031-05-02", None, BODY, "h")
FIRST_P, SECOND_P = _passage("p1", FIRST), _passage("p2", SECOND)


class OnePassageRetriever:
    """The retriever's passage lookup, over this article's two passages."""

    def passage_at(self, doc_id: str, start: int, end: int) -> Passage | None:
        return next((p for p in (FIRST_P, SECOND_P) if p.start <= start and end <= p.end), None)


def _headline_choice() -> Choice:
    ctx = Context(ARTICLE.title, FIRST_P.text)
    reading = Reading(0, 18, ctx.joined[:18], 5.0, 0.0, 0.9, 0.01)
    assert reading.text == "Brightline Freight"
    return Choice(0, reading, ctx.joined, (), ctx.offset, 0, ARTICLE.doc_id)


def test_a_headline_span_is_quoted_from_the_passage_whose_body_says_it() -> None:
    found = Pipeline.locate(_headline_choice(), [Hit(FIRST_P, 1.0)], {ARTICLE.doc_id: ARTICLE}, OnePassageRetriever())
    assert found is not None
    sentence, s, e = found
    assert BODY[s:e] == "Brightline Freight"
    # The quoted sentence holds the span (before, the whole first passage was quoted, without it).
    assert sentence.text == "Dockworkers at Brightline Freight voted to strike next month."
    assert sentence.passage.id == "p2"


def test_a_retrieved_passage_of_the_same_article_is_preferred_and_no_retriever_is_needed() -> None:
    hits = [Hit(FIRST_P, 1.0), Hit(SECOND_P, 0.5)]
    found = Pipeline.locate(_headline_choice(), hits, {ARTICLE.doc_id: ARTICLE})
    assert found is not None and found[0].passage.id == "p2"


def test_without_a_passage_that_holds_it_there_is_nothing_to_quote() -> None:
    assert Pipeline.locate(_headline_choice(), [Hit(FIRST_P, 1.0)], {ARTICLE.doc_id: ARTICLE}) is None


def test_whole_words_only() -> None:
    assert whole_word_at("UPSET fans of UPS", "UPS") == 14
    assert whole_word_at("UPSET fans", "UPS") == -1
