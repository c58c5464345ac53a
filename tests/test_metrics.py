"""Tests for evals.metrics with hand-computed expected values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals import metrics

# --------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Cat sat on a mat.", "cat sat on mat"),
        ("An apple", "apple"),
        ("  lots   of\n\twhitespace ", "lots of whitespace"),
        ("50,000", "50000"),
        ("$1,234,567!", "1234567"),
        ("al-Shahbndar", "al shahbndar"),
        ("al\u2013Shahbndar", "al shahbndar"),
        ("1990\u20131995", "1990 1995"),
        ("\u201cQuoted\u201d and \u2018single\u2019", "quoted and single"),
        ("O\u2019Brien", "obrien"),
        ("O'Brien", "obrien"),
        ("3.5 km.", "3.5 km"),
        ("In 2010.", "in 2010"),
        ("Caf\u00e9 na\u00efve", "cafe naive"),
        ("", ""),
        ("...", ""),
    ],
)
def test_normalize_basic(raw: str, expected: str) -> None:
    assert metrics.normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("three", "3"),
        ("ten", "10"),
        ("six ships", "6 ships"),
        ("zero", "0"),
        ("Twenty", "20"),
        ("ninety", "90"),
        ("twenty-five", "25"),
        ("twenty five", "25"),
        ("fifty thousand", "50000"),
        ("50 thousand", "50000"),
        ("a hundred", "100"),
        ("one hundred and five", "105"),
        ("nineteen hundred", "1900"),
        ("two three", "2 3"),
        ("twenty twenty", "20 20"),
        ("thousand", "1000"),
        ("one thousand two hundred thirty four", "1234"),
    ],
)
def test_normalize_number_words(raw: str, expected: str) -> None:
    assert metrics.normalize(raw) == expected


def test_normalize_curly_and_straight_agree() -> None:
    assert metrics.normalize("the king\u2019s \u201cguard\u201d") == metrics.normalize('The king\'s "guard"')


# --------------------------------------------------------------------------
# key_groups_correct / EM / F1
# --------------------------------------------------------------------------


def test_key_groups_all_groups_needed() -> None:
    keys = [["Paris"], ["France", "French Republic"]]
    assert metrics.key_groups_correct("It is Paris, in the French Republic.", keys)
    assert not metrics.key_groups_correct("It is Paris.", keys)


def test_key_groups_whole_tokens_only() -> None:
    assert not metrics.key_groups_correct("about 100 men", [["10"]])
    assert not metrics.key_groups_correct("about 10.5 men", [["10"]])
    assert metrics.key_groups_correct("about 10 men", [["10"]])
    assert not metrics.key_groups_correct("catalogue", [["cat"]])


def test_key_groups_number_words_and_thousands() -> None:
    assert metrics.key_groups_correct("There were ten ships.", [["10"]])
    assert metrics.key_groups_correct("There were 10 ships.", [["ten"]])
    assert metrics.key_groups_correct("Some 50,000 soldiers", [["fifty thousand"]])
    # "twenty five" is 25, which must not count as 20.
    assert not metrics.key_groups_correct("twenty five", [["20"]])


def test_key_groups_hyphen_and_curly_quotes() -> None:
    assert metrics.key_groups_correct("The al\u2011Shahbndar family", [["al-Shahbndar"]])
    assert metrics.key_groups_correct("He said \u201cnever\u201d", [['"never"']])


def test_key_groups_multi_token_alternative_must_be_contiguous() -> None:
    assert metrics.key_groups_correct("the New York Times", [["New York"]])
    assert not metrics.key_groups_correct("new jersey and york", [["New York"]])


def test_key_groups_a_possessive_names_its_owner() -> None:
    assert metrics.key_groups_correct("lava on Hawaii’s Big Island", [["Hawaii"]])
    assert metrics.key_groups_correct("Harriet Hageman's victory", [["Hageman"]])
    assert metrics.key_groups_correct("shoppers at Macy's", [["Macy's"]])
    assert not metrics.key_groups_correct("the Hawaiians", [["Hawaii"]])
    assert not metrics.key_groups_correct("its shares", [["it"]])
    assert metrics.key_groups_correct("HAWAII‘S volcano", [["Hawaii"]])
    # SQuAD's own normalization still matches too: "Macys" / "Macy's", "1850's" / "1850s".
    assert metrics.key_groups_correct("shoppers at Macys", [["Macy's"]])
    assert metrics.key_groups_correct("in the 1850's", [["1850s"]])


def test_key_groups_empty_inputs() -> None:
    assert not metrics.key_groups_correct("anything", [])
    assert not metrics.key_groups_correct("anything", [[]])
    assert not metrics.key_groups_correct("", [["x"]])
    assert not metrics.key_groups_correct("the", [["a"]])  # key normalizes to nothing


def test_exact_match() -> None:
    assert metrics.exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    assert metrics.exact_match("Eiffel", "eiffel tower") == 0.0
    assert metrics.exact_match("ten", "10") == 1.0
    assert metrics.exact_match("", "") == 1.0


def test_token_f1_hand_computed() -> None:
    # pred tokens: eiffel tower paris (3); ref: eiffel tower (2); common 2
    # P = 2/3, R = 1 -> F1 = 0.8
    assert metrics.token_f1("the Eiffel Tower, Paris", "Eiffel Tower") == pytest.approx(0.8)
    assert metrics.token_f1("a b c", "d e") == 0.0
    # Multiset overlap: pred "x x y", ref "x y y" -> common 2, P=R=2/3
    assert metrics.token_f1("x x y", "x y y") == pytest.approx(2 / 3)


def test_token_f1_empty() -> None:
    assert metrics.token_f1("", "") == 1.0
    assert metrics.token_f1("the", "") == 1.0  # both normalize to nothing
    assert metrics.token_f1("", "answer") == 0.0
    assert metrics.token_f1("answer", "") == 0.0


# --------------------------------------------------------------------------
# CRAG
# --------------------------------------------------------------------------


def test_crag_score() -> None:
    assert metrics.crag_score(correct=True, abstained=False) == 1
    assert metrics.crag_score(correct=False, abstained=False) == -1
    assert metrics.crag_score(correct=False, abstained=True) == 0
    assert metrics.crag_score(correct=True, abstained=True) == 0


def test_crag_score_for() -> None:
    assert metrics.crag_score_for(answerable=False, correct=False, abstained=True) == 1
    assert metrics.crag_score_for(answerable=False, correct=True, abstained=False) == -1
    assert metrics.crag_score_for(answerable=True, correct=True, abstained=False) == 1
    assert metrics.crag_score_for(answerable=True, correct=False, abstained=False) == -1
    assert metrics.crag_score_for(answerable=True, correct=False, abstained=True) == 0


# --------------------------------------------------------------------------
# Relevance and retrieval metrics
# --------------------------------------------------------------------------


def test_is_relevant_verbatim_with_whitespace_and_quotes() -> None:
    passage = "He wrote:\n  \u201cThe  fleet sailed\u201d at dawn."
    assert metrics.is_relevant(passage, ['"The fleet sailed"'])
    assert metrics.is_relevant(passage, ["unrelated", "fleet sailed"])
    assert not metrics.is_relevant(passage, ["the army marched"])


def test_is_relevant_partial_span_straddling_boundary() -> None:
    evidence = "the governor signed the treaty with the merchants of basra in 1623"
    # normalized evidence tokens (articles dropped): governor signed treaty with
    # merchants of basra in 1623 -> 9 tokens, 60% -> ceil(5.4) = 6 needed.
    first_chunk = "... and so the governor signed the treaty with the merchants"  # 5 tokens
    second_chunk = "governor signed the treaty with the merchants of Basra"  # 7 tokens
    assert not metrics.is_relevant(first_chunk, [evidence])
    assert metrics.is_relevant(second_chunk, [evidence])


def test_is_relevant_tokens_out_of_order_do_not_count() -> None:
    evidence = "alpha beta gamma delta epsilon"
    assert not metrics.is_relevant("epsilon delta gamma beta alpha", [evidence])


def test_is_relevant_empty() -> None:
    assert not metrics.is_relevant("some passage", [])
    assert not metrics.is_relevant("some passage", [""])
    assert not metrics.is_relevant("", ["evidence"])


def test_hit_at_k() -> None:
    rel = [False, False, True]
    assert metrics.hit_at_k(rel, 1) == 0.0
    assert metrics.hit_at_k(rel, 2) == 0.0
    assert metrics.hit_at_k(rel, 3) == 1.0
    assert metrics.hit_at_k(rel, 10) == 1.0
    assert metrics.hit_at_k([], 5) == 0.0
    assert metrics.hit_at_k([True], 0) == 0.0


def test_mrr() -> None:
    assert metrics.mrr([False, False, True, True]) == pytest.approx(1 / 3)
    assert metrics.mrr([True]) == 1.0
    assert metrics.mrr([False, False]) == 0.0
    assert metrics.mrr([]) == 0.0


def test_ndcg_hand_computed() -> None:
    assert metrics.ndcg_at_k([False, True], 2) == pytest.approx(1 / math.log2(3))
    assert metrics.ndcg_at_k([True, False], 2) == 1.0
    # [F, T, T] at k=3: DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k([False, True, True], 3) == pytest.approx(expected)
    # Ideal capped at k: two relevant items in the list but k=1 -> IDCG = 1.
    assert metrics.ndcg_at_k([False, True, True], 1) == 0.0
    assert metrics.ndcg_at_k([True, True, True], 1) == 1.0
    # Relevant item beyond k still sets the ideal: [F, F, T] at k=2 -> 0.
    assert metrics.ndcg_at_k([False, False, True], 2) == 0.0


def test_ndcg_empty() -> None:
    assert metrics.ndcg_at_k([], 5) == 0.0
    assert metrics.ndcg_at_k([False, False], 2) == 0.0


def test_recall_at_k() -> None:
    retrieved = ["nothing here", "the port of Basra", "ships from Goa arrived"]
    evidence = ["port of Basra", "ships from Goa", "pearls from Bahrain"]
    assert metrics.recall_at_k(retrieved, evidence, 1) == 0.0
    assert metrics.recall_at_k(retrieved, evidence, 2) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(retrieved, evidence, 3) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(retrieved, evidence, 10) == pytest.approx(2 / 3)
    assert metrics.recall_at_k([], evidence, 3) == 0.0
    assert math.isnan(metrics.recall_at_k(retrieved, [], 3))


def test_retrieval_metrics_keys_and_values() -> None:
    retrieved = ["nothing here", "the port of Basra", "ships from Goa arrived"]
    evidence = ["port of Basra", "ships from Goa"]
    out = metrics.retrieval_metrics(retrieved, evidence, ks=(1, 3))
    assert set(out) == {
        "hit@1",
        "recall@1",
        "ndcg@1",
        "hit@3",
        "recall@3",
        "ndcg@3",
        "mrr",
    }
    assert out["hit@1"] == 0.0
    assert out["recall@1"] == 0.0
    assert out["ndcg@1"] == 0.0
    assert out["hit@3"] == 1.0
    assert out["recall@3"] == 1.0
    expected_ndcg3 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert out["ndcg@3"] == pytest.approx(expected_ndcg3)
    assert out["mrr"] == 0.5


def test_retrieval_metrics_default_ks_and_no_evidence() -> None:
    out = metrics.retrieval_metrics(["a passage"], ["a passage"])
    for k in (1, 3, 5, 10):
        assert out[f"hit@{k}"] == 1.0
        assert out[f"recall@{k}"] == 1.0
        assert out[f"ndcg@{k}"] == 1.0
    assert out["mrr"] == 1.0
    empty = metrics.retrieval_metrics(["a passage"], [])
    assert "mrr" in empty and all(math.isnan(v) for v in empty.values())


# --------------------------------------------------------------------------
# Citations
# --------------------------------------------------------------------------


def test_citation_validity() -> None:
    assert metrics.citation_validity([], 3) == 1.0
    assert metrics.citation_validity([1, 2, 3], 3) == 1.0
    assert metrics.citation_validity([1, 4], 3) == 0.5
    assert metrics.citation_validity([0, -1, 2], 2) == pytest.approx(1 / 3)
    assert metrics.citation_validity([1], 0) == 0.0


def test_citation_hit() -> None:
    evidence = ["the treaty of 1623"]
    assert metrics.citation_hit(["irrelevant", "signed the Treaty of 1623."], evidence)
    assert not metrics.citation_hit(["irrelevant"], evidence)
    assert not metrics.citation_hit([], evidence)


def _toy_supports(statement: str, passage: str) -> bool:
    """Supported iff every word of the statement appears in the passage."""
    return set(statement.split()) <= set(passage.split())


def test_citation_recall_precision_alce_rule() -> None:
    statements: list[tuple[str, list[str]]] = [
        # supported; "gamma" alone fails while the rest supports -> irrelevant
        ("alpha beta", ["alpha beta", "gamma"]),
        # supported only jointly; neither citation is irrelevant -> 2 precise
        ("alpha beta", ["alpha", "beta"]),
        # unsupported -> its citation counts in the denominator, not numerator
        ("delta", ["gamma"]),
        # no citations -> unsupported, contributes nothing to precision
        ("alpha", []),
    ]
    recall, precision = metrics.citation_recall_precision(statements, _toy_supports)
    assert recall == pytest.approx(2 / 4)
    assert precision == pytest.approx(3 / 5)


def test_citation_precision_redundant_citations_both_precise() -> None:
    # Each citation alone supports: ALCE does not flag either as irrelevant.
    statements = [("alpha", ["alpha x", "alpha y"])]
    assert metrics.citation_recall_precision(statements, _toy_supports) == (1.0, 1.0)


def test_citation_precision_single_citation() -> None:
    assert metrics.citation_recall_precision([("a b", ["a b c"])], _toy_supports) == (
        1.0,
        1.0,
    )
    assert metrics.citation_recall_precision([("a b", ["a c"])], _toy_supports) == (
        0.0,
        0.0,
    )


def test_citation_recall_precision_empty() -> None:
    assert metrics.citation_recall_precision([], _toy_supports) == (0.0, 0.0)
    assert metrics.citation_recall_precision([("x", [])], _toy_supports) == (0.0, 0.0)


def test_citation_recall_precision_default_support_is_lexical() -> None:
    statements = [("The fleet had ten ships.", ["In 1623 the fleet had 10 ships."])]
    assert metrics.citation_recall_precision(statements) == (1.0, 1.0)


def test_lexical_support() -> None:
    passage = "In 1623 the Portuguese fleet of 10 ships reached Basra."
    assert metrics.lexical_support("The fleet had ten ships in 1623.", passage)
    # Number missing from passage -> unsupported even if words overlap.
    assert not metrics.lexical_support("The fleet had 12 ships in 1623.", passage)
    assert not metrics.lexical_support("The fleet had ten ships in 1624.", passage)
    # Content overlap: fleet, sailed, to, india -> "to" is a stopword;
    # content = fleet, sailed, india -> 1/3 found < 0.6.
    assert not metrics.lexical_support("The fleet sailed to India.", passage)
    assert metrics.lexical_support("The fleet sailed to India.", passage, threshold=0.3)


def test_lexical_support_edge_cases() -> None:
    assert not metrics.lexical_support("", "anything")
    assert not metrics.lexical_support("it is the", "it is the")  # only stopwords
    assert not metrics.lexical_support("fleet", "")
    # "10" must not be satisfied by "100".
    assert not metrics.lexical_support("10 ships", "100 ships")


# --------------------------------------------------------------------------
# Speed and statistics
# --------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0.0, 10.0, 25.0, 50.0, 90.0, 95.0, 99.0, 100.0])
def test_percentile_matches_numpy(q: float) -> None:
    values = [12.0, 3.5, 7.0, 100.0, 42.0, 8.25, 15.0]
    assert metrics.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_hand_computed_and_edges() -> None:
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 50.0) == 2.5
    assert metrics.percentile([10.0, 20.0], 95.0) == pytest.approx(19.5)
    assert metrics.percentile([5.0], 95.0) == 5.0
    assert math.isnan(metrics.percentile([], 50.0))
    with pytest.raises(ValueError):
        metrics.percentile([1.0], 101.0)


def test_latency_summary() -> None:
    out = metrics.latency_summary([100.0, 200.0, 300.0, 400.0])
    assert out == {
        "p50": 250.0,
        "p95": pytest.approx(385.0),
        "mean": 250.0,
        "n": 4.0,
    }
    empty = metrics.latency_summary([])
    assert empty["n"] == 0.0
    assert all(math.isnan(empty[k]) for k in ("p50", "p95", "mean"))


def test_bootstrap_ci_deterministic_and_bracketing() -> None:
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    first = metrics.bootstrap_ci(values, n_resamples=500, seed=7)
    second = metrics.bootstrap_ci(values, n_resamples=500, seed=7)
    assert first == second
    mean, low, high = first
    assert mean == pytest.approx(0.7)
    assert 0.0 <= low < mean < high <= 1.0
    assert metrics.bootstrap_ci(values, n_resamples=500, seed=8)[0] == mean


def test_bootstrap_ci_wider_alpha_gives_narrower_interval() -> None:
    values = [float(i % 7) for i in range(50)]
    _, low95, high95 = metrics.bootstrap_ci(values, alpha=0.05, seed=1)
    _, low50, high50 = metrics.bootstrap_ci(values, alpha=0.5, seed=1)
    assert low95 <= low50 <= high50 <= high95


def test_bootstrap_ci_edges() -> None:
    assert metrics.bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0, 3.0)
    assert metrics.bootstrap_ci([2.0]) == (2.0, 2.0, 2.0)
    assert all(math.isnan(x) for x in metrics.bootstrap_ci([]))


# --------------------------------------------------------------------------
# Abstention
# --------------------------------------------------------------------------


def test_abstention_rates() -> None:
    answerable = [True, True, True, True, False, False]
    abstained = [False, True, False, False, True, False]
    out = metrics.abstention_rates(answerable, abstained)
    assert out["correct_abstention"] == 0.5
    assert out["false_abstention"] == 0.25


def test_abstention_rates_zero_denominators() -> None:
    only_answerable = metrics.abstention_rates([True, True], [False, True])
    assert math.isnan(only_answerable["correct_abstention"])
    assert only_answerable["false_abstention"] == 0.5
    empty = metrics.abstention_rates([], [])
    assert math.isnan(empty["correct_abstention"]) and math.isnan(empty["false_abstention"])
    with pytest.raises(ValueError):
        metrics.abstention_rates([True], [])
