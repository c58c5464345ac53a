"""Pure metric functions for evaluating a retrieval-augmented QA system.

Every function here is side-effect free and depends only on the standard
library. Conventions:

* Text comparisons go through :func:`normalize` (SQuAD-style, extended with
  ASCII folding, number words and decimal points).
* A metric that is undefined for its input (empty denominator) returns
  ``float("nan")`` unless its docstring says otherwise; callers filter with
  ``math.isnan``.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

NAN: float = float("nan")

# --------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------

_ASCII_MAP: dict[int, str] = {
    ord(ch): repl
    for chars, repl in (
        ("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
        ("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        ("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad", "-"),
        ("\u00a0\u2009\u202f", " "),
    )
    for ch in chars
}

_ARTICLES: frozenset[str] = frozenset({"a", "an", "the"})

_SMALL_NUMBERS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_MULTIPLIERS: frozenset[str] = frozenset({"hundred", "thousand"})
_NUMBER_WORDS: frozenset[str] = frozenset(_SMALL_NUMBERS) | _MULTIPLIERS

_WS_RE = re.compile(r"\s+")


def ascii_fold(text: str) -> str:
    """Map curly quotes, unicode dashes and odd spaces to ASCII and strip accents."""
    text = text.translate(_ASCII_MAP)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_punct(ch: str) -> bool:
    """Return True for unicode punctuation or symbol characters."""
    return unicodedata.category(ch)[0] in ("P", "S")


def _strip_punctuation(text: str) -> str:
    """Drop punctuation, keeping decimal points and joining digit groups.

    Hyphens become spaces ("al-shahbndar" -> "al shahbndar"); "," between
    digits is dropped ("50,000" -> "50000"); "." between digits is kept
    ("3.5" stays "3.5"); every other punctuation character is deleted.
    """
    out: list[str] = []
    for i, ch in enumerate(text):
        between_digits = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
        if ch == "-":
            out.append(" ")
        elif ch == "." and between_digits:
            out.append(ch)
        elif _is_punct(ch):
            continue
        else:
            out.append(ch)
    return "".join(out)


def _parse_below_hundred(tokens: Sequence[str], i: int) -> tuple[int, int] | None:
    """Parse "seven", "twenty", "twenty five" (or a digit before a multiplier)."""
    if i >= len(tokens):
        return None
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok.isdigit() and nxt in _MULTIPLIERS:
        return int(tok), i + 1
    if tok not in _SMALL_NUMBERS:
        return None
    value = _SMALL_NUMBERS[tok]
    if value >= 20 and value % 10 == 0 and 1 <= _SMALL_NUMBERS.get(nxt, 0) <= 9:
        return value + _SMALL_NUMBERS[nxt], i + 2
    return value, i + 1


def _parse_below_thousand(tokens: Sequence[str], i: int) -> tuple[int, int] | None:
    """Parse an optional "<n> hundred [and] <m>" phrase starting at ``i``."""
    head = _parse_below_hundred(tokens, i)
    value, j = head if head is not None else (1, i)
    if j < len(tokens) and tokens[j] == "hundred":
        value, j = value * 100, j + 1
        skip_and = j + 1 < len(tokens) and tokens[j] == "and"
        tail = _parse_below_hundred(tokens, j + 1 if skip_and else j)
        if tail is not None:
            value, j = value + tail[0], tail[1]
        return value, j
    return head


def _parse_number(tokens: Sequence[str], i: int) -> tuple[int, int] | None:
    """Parse a number-word phrase at ``i``; return (value, next index) or None."""
    head = _parse_below_thousand(tokens, i)
    value, j = head if head is not None else (1, i)
    if j < len(tokens) and tokens[j] == "thousand":
        value, j = value * 1000, j + 1
        tail = _parse_below_thousand(tokens, j)
        if tail is not None:
            value, j = value + tail[0], tail[1]
        return value, j
    return head


def words_to_digits(tokens: Sequence[str]) -> list[str]:
    """Replace number-word phrases ("fifty thousand", "six") with digit tokens."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        starts_number = tok in _NUMBER_WORDS or (
            tok.isdigit() and i + 1 < len(tokens) and tokens[i + 1] in _MULTIPLIERS
        )
        parsed = _parse_number(tokens, i) if starts_number else None
        if parsed is None:
            out.append(tok)
            i += 1
        else:
            out.append(str(parsed[0]))
            i = parsed[1]
    return out


def normalize(text: str) -> str:
    """SQuAD-style normalization plus ASCII folding and number words to digits."""
    text = _strip_punctuation(ascii_fold(text).lower())
    tokens = [tok for tok in text.split() if tok not in _ARTICLES]
    return " ".join(words_to_digits(tokens))


def normalized_tokens(text: str) -> list[str]:
    """Return the whitespace tokens of ``normalize(text)``."""
    return normalize(text).split()


def _contains_sequence(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """Return True when ``needle`` occurs as a contiguous run in ``haystack``."""
    n = len(needle)
    if n == 0:
        return False
    return any(list(haystack[i : i + n]) == list(needle) for i in range(len(haystack) - n + 1))


# --------------------------------------------------------------------------
# Answer correctness
# --------------------------------------------------------------------------


_POSSESSIVE = re.compile(r"(?<=\w)'s\b", re.IGNORECASE)


def key_groups_correct(answer: str, answer_keys: list[list[str]]) -> bool:
    """True when every key group has an alternative found as whole tokens in the answer, the
    answer and the key tokenized alike, either as SQuAD normalizes ("Macy's" -> "macys") or with
    a possessive "'s" as a token of its own, as tokenizers split it ("Hawaii's Big Island" names
    Hawaii): a match either way counts."""
    if not answer_keys:
        return False
    ways = (normalized_tokens, _possessive_split_tokens)
    answers = [way(answer) for way in ways]
    return all(
        any(_contains_sequence(tokens, way(alt)) for alt in group for way, tokens in zip(ways, answers))
        for group in answer_keys
    )


def _possessive_split_tokens(text: str) -> list[str]:
    return normalized_tokens(_POSSESSIVE.sub(" s", ascii_fold(text)))


def exact_match(prediction: str, reference: str) -> float:
    """SQuAD exact match: 1.0 when the normalized strings are equal, else 0.0."""
    return float(normalize(prediction) == normalize(reference))


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token-level F1 between normalized prediction and reference."""
    pred, ref = normalized_tokens(prediction), normalized_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def crag_score(correct: bool, abstained: bool) -> int:
    """CRAG score: 1 correct, 0 abstained, -1 wrong (unanswerable: pass correct=abstained)."""
    if abstained:
        return 0
    return 1 if correct else -1


def crag_score_for(answerable: bool, correct: bool, abstained: bool) -> int:
    """CRAG score that rewards abstaining (+1) and punishes answering (-1) when unanswerable."""
    if not answerable:
        return 1 if abstained else -1
    return crag_score(correct, abstained)


# --------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------

EVIDENCE_SPAN_FRACTION: float = 0.6


def _loose_text(text: str) -> str:
    """Lowercase, ASCII-fold quotes/dashes and collapse whitespace."""
    return _WS_RE.sub(" ", ascii_fold(text).lower()).strip()


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest contiguous token run shared by ``a`` and ``b``."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def _evidence_in_passage(passage_text: str, evidence_text: str) -> bool:
    """Whether one evidence string is covered by the passage (see is_relevant)."""
    loose_evidence = _loose_text(evidence_text)
    if not loose_evidence:
        return False
    if loose_evidence in _loose_text(passage_text):
        return True
    ev_tokens = normalized_tokens(evidence_text)
    if not ev_tokens:
        return False
    needed = math.ceil(EVIDENCE_SPAN_FRACTION * len(ev_tokens) - 1e-9)
    return longest_common_run(ev_tokens, normalized_tokens(passage_text)) >= needed


def is_relevant(passage_text: str, evidence: list[str]) -> bool:
    """True when the passage covers any evidence string, verbatim or by a 60% token span.

    An evidence string is covered when (a) it occurs in the passage after
    lowercasing, ASCII-folding quotes/dashes and collapsing whitespace, or
    (b) the passage contains a contiguous run of at least 60% (rounded up)
    of the evidence's normalized tokens, in order. (b) lets evidence that
    straddles a chunk boundary still count. Empty evidence strings never match.
    """
    return any(_evidence_in_passage(passage_text, ev) for ev in evidence)


def hit_at_k(relevances: list[bool], k: int) -> float:
    """1.0 if any of the top-k items is relevant, else 0.0."""
    return float(any(relevances[: max(k, 0)]))


def _coverage(retrieved_texts: list[str], evidence: list[str]) -> list[list[bool]]:
    """Matrix [passage][evidence] of whether each passage covers each evidence string."""
    return [[is_relevant(text, [ev]) for ev in evidence] for text in retrieved_texts]


def _recall_from_coverage(coverage: list[list[bool]], n_evidence: int, k: int) -> float:
    """Fraction of evidence columns covered by any of the first k rows."""
    if n_evidence == 0:
        return NAN
    top = coverage[: max(k, 0)]
    covered = sum(any(row[e] for row in top) for e in range(n_evidence))
    return covered / n_evidence


def recall_at_k(retrieved_texts: list[str], evidence: list[str], k: int) -> float:
    """Fraction of evidence strings covered by the top-k passages (nan if no evidence)."""
    return _recall_from_coverage(_coverage(retrieved_texts[: max(k, 0)], evidence), len(evidence), k)


def mrr(relevances: list[bool]) -> float:
    """Reciprocal rank of the first relevant item (0.0 if none)."""
    for rank, relevant in enumerate(relevances, start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def _dcg(gains: Sequence[bool]) -> float:
    """Discounted cumulative gain with binary gains and log2(rank + 1) discount."""
    return sum(1.0 / math.log2(rank + 1) for rank, g in enumerate(gains, start=1) if g)


def ndcg_at_k(relevances: list[bool], k: int) -> float:
    """Binary nDCG@k; the ideal ranking has min(#relevant in list, k) hits (0.0 if none)."""
    k = max(k, 0)
    ideal = _dcg([True] * min(sum(map(bool, relevances)), k))
    if ideal == 0.0:
        return 0.0
    return _dcg(relevances[:k]) / ideal


def retrieval_metrics(
    retrieved_texts: list[str],
    evidence: list[str],
    ks: tuple[int, ...] = (1, 3, 5, 10),
) -> dict[str, float]:
    """hit@k, recall@k, ndcg@k for each k plus mrr; all nan when there is no evidence."""
    keys = [f"{name}@{k}" for k in ks for name in ("hit", "recall", "ndcg")] + ["mrr"]
    if not evidence:
        return {key: NAN for key in keys}
    coverage = _coverage(retrieved_texts, evidence)
    relevances = [any(row) for row in coverage]
    result: dict[str, float] = {}
    for k in ks:
        result[f"hit@{k}"] = hit_at_k(relevances, k)
        result[f"recall@{k}"] = _recall_from_coverage(coverage, len(evidence), k)
        result[f"ndcg@{k}"] = ndcg_at_k(relevances, k)
    result["mrr"] = mrr(relevances)
    return result


# --------------------------------------------------------------------------
# Citations
# --------------------------------------------------------------------------

_STOPWORD_TEXT: str = """
    a an the and or but if then else of to in on at by for with from as into
    onto over under about after before between through during without within
    is are was were be been being am do does did done has have had having
    it its this that these those there here he she they them his her their
    we us our you your i me my which who whom whose what when where why how
    so such than too very can could would should will shall may might
    must also just only both each all any some more most other own same
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


def citation_validity(markers: list[int], n_sources: int) -> float:
    """Fraction of [n] markers that point at an existing source 1..n_sources (1.0 if none)."""
    if not markers:
        return 1.0
    return sum(1 <= m <= n_sources for m in markers) / len(markers)


def citation_hit(cited_texts: list[str], evidence: list[str]) -> bool:
    """True when some cited passage is relevant to the evidence per is_relevant."""
    return any(is_relevant(text, evidence) for text in cited_texts)


def _numbers(tokens: Sequence[str]) -> list[str]:
    """Tokens that contain a digit."""
    return [tok for tok in tokens if any(ch.isdigit() for ch in tok)]


def lexical_support(statement: str, passage: str, threshold: float = 0.6) -> bool:
    """Offline support check: all statement numbers in passage and >= threshold content-token overlap."""
    stmt_tokens = normalized_tokens(statement)
    passage_vocab = set(normalized_tokens(passage))
    if not all(num in passage_vocab for num in _numbers(stmt_tokens)):
        return False
    content = [tok for tok in stmt_tokens if tok not in STOPWORDS]
    if not content:
        return False
    found = sum(tok in passage_vocab for tok in content)
    return found / len(content) >= threshold


def _join_passages(passages: Sequence[str]) -> str:
    """Concatenate cited passages the way ALCE does (newline separated)."""
    return "\n".join(passages)


def _precise_citations(statement: str, cites: list[str], supports: Callable[[str, str], bool]) -> int:
    """Count precise citations of a supported statement (ALCE's 'irrelevant' test)."""
    precise = 0
    for i, cite in enumerate(cites):
        others = cites[:i] + cites[i + 1 :]
        irrelevant = not supports(statement, cite) and bool(others) and supports(statement, _join_passages(others))
        precise += not irrelevant
    return precise


def citation_recall_precision(
    statements: list[tuple[str, list[str]]],
    supports: Callable[[str, str], bool] = lexical_support,
) -> tuple[float, float]:
    """ALCE citation (recall, precision) given (sentence, cited passages) pairs.

    ``supports(statement, passage)`` decides entailment. Recall is the fraction
    of statements supported by the concatenation of their citations; a
    statement without citations is unsupported. Precision is precise citations
    over all citations: every citation of an unsupported statement is
    imprecise, and a citation of a supported statement is imprecise only when
    it alone does not support the statement while the remaining citations do.
    Following ALCE, recall is 0.0 with no statements and precision is 0.0 with
    no citations.
    """
    supported_count, precise, total_citations = 0, 0, 0
    for statement, cites in statements:
        total_citations += len(cites)
        if not cites or not supports(statement, _join_passages(cites)):
            continue
        supported_count += 1
        precise += _precise_citations(statement, cites, supports)
    recall = supported_count / len(statements) if statements else 0.0
    precision = precise / total_citations if total_citations else 0.0
    return recall, precision


# --------------------------------------------------------------------------
# Speed and statistics
# --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """q-th percentile (0..100) with linear interpolation like numpy's default; nan if empty."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    if not values:
        return NAN
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _mean(values: Sequence[float]) -> float:
    """Arithmetic mean; nan if empty."""
    return sum(values) / len(values) if values else NAN


def latency_summary(values_ms: list[float]) -> dict[str, float]:
    """p50, p95, mean and n of latencies in milliseconds (nan stats when empty)."""
    return {
        "p50": percentile(values_ms, 50.0),
        "p95": percentile(values_ms, 95.0),
        "mean": _mean(values_ms),
        "n": float(len(values_ms)),
    }


def bootstrap_ci(
    values: list[float],
    n_resamples: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high) percentile-bootstrap CI of the mean, deterministic per seed."""
    if not values:
        return NAN, NAN, NAN
    rng = random.Random(seed)
    n = len(values)
    means = [_mean(rng.choices(values, k=n)) for _ in range(n_resamples)]
    if not means:
        return _mean(values), NAN, NAN
    low = percentile(means, 100.0 * alpha / 2)
    high = percentile(means, 100.0 * (1 - alpha / 2))
    return _mean(values), low, high


# --------------------------------------------------------------------------
# Abstention
# --------------------------------------------------------------------------


def _rate(flags: Sequence[bool]) -> float:
    """Fraction of True flags; nan if empty."""
    return sum(map(bool, flags)) / len(flags) if flags else NAN


def abstention_rates(answerable: list[bool], abstained: list[bool]) -> dict[str, float]:
    """correct_abstention (among unanswerable) and false_abstention (among answerable)."""
    if len(answerable) != len(abstained):
        raise ValueError("answerable and abstained must have the same length")
    pairs = list(zip(answerable, abstained))
    return {
        "correct_abstention": _rate([ab for ans, ab in pairs if not ans]),
        "false_abstention": _rate([ab for ans, ab in pairs if ans]),
    }


def auc(scores: Sequence[float | None], labels: Sequence[bool]) -> float:
    """Area under the ROC curve of scores for telling positive labels from negative ones (ties
    count half); rows without a score are left out, NaN when one class is missing."""
    pairs = [(float(s), bool(y)) for s, y in zip(scores, labels) if s is not None and not math.isnan(float(s))]
    pos = [s for s, y in pairs if y]
    neg = [s for s, y in pairs if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))
