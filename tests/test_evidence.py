from __future__ import annotations

from index.chunk import chunk_article, split_sentences
from index.parse import parse_text
from rag.evidence import with_antecedent
from rag.types import Evidence

TEXT = (
    "Militias weigh disarmament\nApril 8, 2025\n"
    "Reuters spoke to ten commanders. One commander of Kataib Hezbollah said they wanted to avoid a war. "
    "They have since denied that any of its commanders spoke to Reuters. "
    "Kataib Hezbollah is the most powerful militia. They command thousands of fighters."
)


def evidence_for(sentence: str, chunk_size: int = 2000) -> tuple[Evidence, str]:
    article = parse_text(TEXT, "a")
    passages = chunk_article(article, chunk_size, 0)
    for p in passages:
        for (s, e), text in p.sentence_texts():
            if text.startswith(sentence):
                return Evidence(p, s, e, text, 0.5), article.body
    raise AssertionError(sentence)


def test_a_sentence_that_points_back_is_quoted_with_the_one_before() -> None:
    e, body = evidence_for("They have since denied")
    widened = with_antecedent(e, body)
    assert widened.text.startswith("One commander of Kataib Hezbollah said")
    assert widened.text.endswith("spoke to Reuters.")
    assert body[widened.start : widened.end] == widened.text
    assert widened.score == e.score


def test_the_sentence_before_may_lie_in_the_body_before_the_passage() -> None:
    e, body = evidence_for("They have since denied", chunk_size=80)  # one sentence per passage
    assert e.passage.start == e.start
    widened = with_antecedent(e, body)
    assert widened.text.startswith("One commander")
    p = widened.passage
    assert body[p.start : p.end] == p.text and p.start == widened.start
    assert p.sentences[0][0] == widened.start
    assert list(p.sentences) == [sp for sp in split_sentences(body) if p.start <= sp[0] and sp[1] <= p.end]


def test_without_the_body_the_sentence_before_comes_from_the_passage() -> None:
    e, _ = evidence_for("They have since denied")
    assert with_antecedent(e).text.startswith("One commander")
    alone, _ = evidence_for("They have since denied", chunk_size=80)
    assert with_antecedent(alone) == alone  # nothing before it in its passage


def test_a_sentence_before_too_far_back_to_read_whole_is_not_half_quoted() -> None:
    long_text = TEXT.replace("One commander of", "One commander " + "very " * 150 + "of")
    article = parse_text(long_text, "a")
    (p,) = chunk_article(article, 5000, 0)
    (span,) = [sp for sp in p.sentences if article.body[sp[0] :].startswith("They have since")]
    e = Evidence(p, span[0], span[1], article.body[span[0] : span[1]], 0.5)
    assert with_antecedent(e, article.body) == e


def test_sentences_that_name_their_subject_are_left_alone() -> None:
    e, body = evidence_for("Kataib Hezbollah is the most powerful")
    assert with_antecedent(e, body) == e
    first, body = evidence_for("Reuters spoke to ten")
    assert with_antecedent(first, body) == first
