from __future__ import annotations

import pytest

from index.chunk import chunk_article, split_sentences
from index.parse import parse_file, parse_text
from tests.conftest import SEEDS


def test_sentences_have_exact_offsets() -> None:
    text = 'Mr. Smith went to Washington. He said: "No." Then U.S. officials left!\nNew paragraph here'
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Smith went to Washington.",
        'He said: "No."',
        "Then U.S. officials left!",
        "New paragraph here",
    ]


def test_curly_quote_sentence_end() -> None:
    text = "He said it was “very advanced.” The groups agreed. In 2003 it began."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "He said it was “very advanced.”",
        "The groups agreed.",
        "In 2003 it began.",
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.iterdir()))
@pytest.mark.parametrize(("size", "overlap"), [(600, 150), (300, 0), (1200, 400)])
def test_passages_are_exact_whole_sentence_spans(name: str, size: int, overlap: int) -> None:
    article = parse_file(SEEDS / name)
    sentences = split_sentences(article.body)
    starts = {s for s, _ in sentences}
    ends = {e for _, e in sentences}
    passages = chunk_article(article, size, overlap)
    assert passages
    covered = set()
    for p in passages:
        assert article.body[p.start : p.end] == p.text
        assert p.start in starts and p.end in ends  # never cuts a sentence
        assert p.sentences[0][0] == p.start and p.sentences[-1][1] == p.end
        for (s, e), text in p.sentence_texts():
            assert article.body[s:e] == text
        covered.update(p.sentences)
        # Passages only exceed the size when a single sentence is longer than it.
        assert p.end - p.start <= size or len(p.sentences) == 1
    assert covered == set(sentences)  # nothing lost
    ids = [p.id for p in passages]
    assert len(ids) == len(set(ids))


def test_overlap_repeats_whole_sentences() -> None:
    body = " ".join(f"Sentence number {i} is here." for i in range(20))
    a = parse_text(body, "d")
    with_overlap = chunk_article(a, 120, 60)
    without = chunk_article(a, 120, 0)
    assert len(with_overlap) > len(without)
    for prev, nxt in zip(with_overlap, with_overlap[1:]):
        shared = set(prev.sentences) & set(nxt.sentences)
        assert shared and nxt.start < prev.end
    for prev, nxt in zip(without, without[1:]):
        assert nxt.start > prev.end


def test_long_sentence_is_kept_whole() -> None:
    a = parse_text("Short one. " + "word " * 200 + "end. Last.", "d")
    passages = chunk_article(a, 100, 20)
    assert any(p.end - p.start > 100 and len(p.sentences) == 1 for p in passages)
