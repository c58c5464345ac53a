"""The span model: which passage's reading becomes the short answer, and whether it is shown."""

from __future__ import annotations

from rag.abstain import Choice
from rag.logistic import Logistic
from rag.query import Query
from rag.reader import Context, Reading
from rag.spans import SPAN_FEATURES, load_spans, rank_spans, span_features


def _query(text: str, terms: tuple[str, ...], answer_type: str = "place") -> Query:
    return Query(text, terms, (), answer_type, "which", (text,), False, False)


def _choice(index: int, headline: str, passage: str, span: str, margin: float, labels=(), doc: str = "") -> Choice:
    ctx = Context(headline, passage)
    start = ctx.joined.index(span)
    end = start + len(span)
    reading = Reading(start, end, span, margin, 0.0, 0.4, 0.1)
    mentions = tuple((start, end, lab) for lab in labels)
    return Choice(index, reading, ctx.joined, mentions, ctx.offset, 0, doc or f"doc{index}")


def test_features_say_where_the_span_is_and_whether_it_repeats_the_question() -> None:
    q = _query("Which city will host the summit?", ("citi", "host", "summit"))
    body = _choice(0, "Leaders meet", "The summit will be held in Nairobi next year.", "Nairobi", 3.0, ["GPE"])
    echo = _choice(1, "Summit host named", "Talks went on.", "Summit host", 1.0)
    f_body, f_echo = span_features(q, [body, echo])
    assert f_body["in_headline"] == 0.0 and f_echo["in_headline"] == 1.0
    assert f_body["question_overlap"] == 0.0 and f_echo["question_overlap"] == 1.0
    assert f_body["type_match"] == 1.0 and f_echo["type_match"] == 0.0
    assert f_body["margin_gap"] == 0.0 and f_echo["margin_gap"] == -2.0
    assert f_body["rank"] == 0.0 and f_echo["rank"] == 0.5
    assert f_body["statement"] == 0.0 and set(f_body) == set(SPAN_FEATURES)


def test_the_model_can_prefer_a_lower_margin_span_of_the_right_type() -> None:
    q = _query("Which city will host the summit?", ("citi", "host", "summit"))
    echo = _choice(0, "", "The summit host is to be named.", "summit host", 4.0)
    city = _choice(1, "", "It will be held in Nairobi.", "Nairobi", 2.0, ["GPE"])
    n = len(SPAN_FEATURES)
    weights = {"margin": 0.2, "type_match": 2.0, "question_overlap": -3.0}
    model = Logistic(SPAN_FEATURES, (0.0,) * n, (1.0,) * n, tuple(weights.get(f, 0.0) for f in SPAN_FEATURES), 0, 0.5)
    picks = rank_spans(model, q, [echo, city])
    assert picks[0].choice is city and picks[0].p > model.threshold > picks[1].p
    assert rank_spans(model, q, []) == []


def test_the_committed_span_model_ranks_a_typed_fresh_span_first() -> None:
    q = _query("Which city will host the summit?", ("citi", "host", "summit"))
    echo = _choice(0, "", "The summit host is to be named.", "summit host", 2.0)
    city = _choice(1, "", "It will be held in Nairobi.", "Nairobi", 2.0, ["GPE"])
    assert rank_spans(load_spans(), q, [echo, city])[0].choice is city


def test_agreement_counts_the_same_answer_in_other_articles_not_the_same_one() -> None:
    q = _query("Which team was sold?", ("team", "sold"))
    a = _choice(0, "Owners vote", "Owners approved the sale of the Denver Broncos on Tuesday.", "Denver Broncos", 1.0)
    b = _choice(1, "Team sold", "The Broncos were sold for a record price.", "Broncos", 0.5, doc="other")
    c = _choice(2, "Owners vote", "The vote was unanimous.", "Owners vote", 2.0, doc="doc0")
    d = _choice(3, "Owners vote", "The Denver Broncos vote was unanimous.", "Denver Broncos", 2.0, doc="doc0")
    fa, fb, fc, fd = span_features(q, [a, b, c, d])
    assert fa["agreement"] == b.reading.prob and fb["agreement"] == a.reading.prob + d.reading.prob
    assert fc["agreement"] == 0.0  # a headline span is no evidence
    assert fd["agreement"] == b.reading.prob  # the same article's other passage does not count
    assert fa["sentence_overlap"] == 0.0 and fb["sentence_overlap"] == 0.5  # "sold" is in b's sentence
