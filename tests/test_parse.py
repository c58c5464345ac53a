from __future__ import annotations

from pathlib import Path

import pytest

from index.parse import decode_text, parse_date_prefix, parse_file, parse_text
from rag.errors import BadFileError
from tests.conftest import SEEDS


def test_seed_with_headline_and_glued_date() -> None:
    a = parse_file(SEEDS / "000_f719a2aea238f342.txt")
    assert a.doc_id == "000_f719a2aea238f342"
    assert a.title.startswith("Tehran has been pulling back from direct support")
    assert a.date == "2025-04-08"
    assert a.body.startswith("A number of powerful Iraqi militias backed by Iran")
    assert "11:24" not in a.body and "April 8" not in a.body
    assert a.body.endswith("Aragchi added.")


def test_seed_with_bare_date_line() -> None:
    a = parse_file(SEEDS / "001_8c1d7f895dc4d7a5.txt")
    assert a.date == "2025-04-07"
    assert a.body.startswith("Several of the Iranian-backed militias in Iraq")
    assert "April 07 2025" not in a.body
    # No headline in the file: the title is taken from the first sentence.
    assert a.title.startswith("Several of the Iranian-backed militias")
    assert len(a.title) <= 100


def test_content_hash_changes_with_text_and_is_stable() -> None:
    a = parse_text("Title\nMarch 3, 2024\nBody one.", "x")
    b = parse_text("Title\nMarch 3, 2024\nBody one.", "x")
    c = parse_text("Title\nMarch 3, 2024\nBody two.", "x")
    assert a.content_hash == b.content_hash != c.content_hash


@pytest.mark.parametrize(
    ("line", "iso", "rest"),
    [
        ("April 8, 2025 11:24A number of", "2025-04-08", "A number of"),
        ("April 07 2025", "2025-04-07", ""),
        ("8 April 2025", "2025-04-08", ""),
        ("Sept. 3, 2024 at 9:15 a.m. Officials said", "2024-09-03", "Officials said"),
        ("2025-04-07T10:00:00Z", "2025-04-07", ""),
    ],
)
def test_date_prefixes(line: str, iso: str, rest: str) -> None:
    assert parse_date_prefix(line) == (iso, rest)


def test_not_a_date() -> None:
    assert parse_date_prefix("April is a month") is None
    assert parse_date_prefix("February 30, 2025") is None


def test_markdown_title_and_no_date() -> None:
    a = parse_text("# Big **news** today\n\nSome [linked](http://x) text. More text.", "m", suffix=".md")
    assert a.title == "Big **news** today"
    assert a.date is None
    assert a.body == "Some linked text. More text."


def test_html_metadata_and_script_removed() -> None:
    html = """<!doctype html><html><head><title>Site | Story</title>
    <meta property="og:title" content="Militias weigh disarming">
    <meta property="article:published_time" content="2025-04-07T09:00:00Z">
    <meta property="og:site_name" content="Example News">
    <script>alert('x')</script></head>
    <body><nav>Home</nav><h1>Militias weigh disarming</h1><p>First &amp; foremost.</p>
    <script>steal()</script><p>Second paragraph.</p></body></html>"""
    a = parse_text(html, "h", suffix=".html")
    assert a.title == "Militias weigh disarming"
    assert a.date == "2025-04-07"
    assert a.source == "Example News"
    assert a.body == "First & foremost.\nSecond paragraph."


def test_plain_text_without_headline_or_date() -> None:
    a = parse_text("Just a paragraph of text with no metadata at all, written as one long line that ends here.", "p")
    assert a.date is None
    assert a.title.startswith("Just a paragraph")


def test_source_label() -> None:
    a = parse_text("Headline here\nSource: Reuters\nApril 1, 2025\nBody text.", "s")
    assert (a.title, a.source, a.date, a.body) == ("Headline here", "Reuters", "2025-04-01", "Body text.")


@pytest.mark.parametrize(
    ("opening", "source", "body"),
    [
        ("Harbour Daily —\nThe ferry resumed service.", "Harbour Daily", "The ferry resumed service."),
        # A dateline saved without its brackets ("Hong Kong (CNN Business) —"): the place goes.
        ("Hong Kong CNN Business —\nThe ferry resumed service.", "CNN Business", "The ferry resumed service."),
        ("London CNN —\nThe ferry resumed service.", "CNN", "The ferry resumed service."),
        ("New York Times —\nThe ferry resumed service.", "New York Times", "The ferry resumed service."),
        ("Chicago Tribune —\nThe ferry resumed service.", "Chicago Tribune", "The ferry resumed service."),
        ("Kansas City Star —\nThe ferry resumed service.", "Kansas City Star", "The ferry resumed service."),
        ("PORT ELLEN (Island Wire) — The ferry resumed service.", "Island Wire", "The ferry resumed service."),
        ("Oslo, Norway (NTB) – The ferry resumed service.", "NTB", "The ferry resumed service."),
        ("Mayor (left) — said the ferry resumed service.", None, "Mayor (left) — said the ferry resumed service."),
        ("Harbour Inc. (HRB) - shares rose 3%.", None, "Harbour Inc. (HRB) - shares rose 3%."),
        ("Harbour (HRB) -3% in early trade.", None, "Harbour (HRB) -3% in early trade."),
        ("The Harbour Board (HB) — its members voted.", None, "The Harbour Board (HB) — its members voted."),
    ],
)
def test_datelines_name_the_outlet_and_keep_the_first_sentence(opening: str, source: str | None, body: str) -> None:
    a = parse_text(f"Ferry back after storm\nMarch 3, 2024\n{opening}\nMore later.", "f")
    assert (a.source, a.body) == (source, f"{body}\nMore later.")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\x81\x8d\x8f\x90\x9d" * 10, "not UTF-8"),
        (bytes(range(1, 31)) * 20, "binary"),
    ],
)
def test_bad_bytes_are_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(BadFileError, match=reason):
        decode_text(data, "f.txt")


def test_windows_1252_fallback() -> None:
    assert decode_text("caf\u00e9 \u2019quoted\u2019".encode("cp1252"), "f.txt") == "caf\u00e9 \u2019quoted\u2019"


def test_size_limit(tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_text("word " * 1000)
    with pytest.raises(BadFileError, match="limit"):
        parse_file(f, max_bytes=100)


def test_file_ids_tell_same_name_files_apart_by_type_only_within_one_folder() -> None:
    from index.parse import file_ids

    paths = [Path(p) for p in ("w/a.html", "w/a.txt", "w/b.txt", "x/a.txt", "w/c.txt", "w/c.TXT", "d.md")]
    assert list(file_ids(paths).values()) == ["w/a-html", "w/a-txt", "w/b", "x/a", "w/c-txt", "w/c-TXT", "d"]

    # With the ids earlier builds gave, a file keeps its own and an id is never handed to another file.
    known = {"w/a.txt": "w/a", "w/old.txt": "w/old"}  # w/old.txt has since been removed
    later = [Path(p) for p in ("w/a.html", "w/a.txt", "w/old.md", "w/new.txt")]
    assert file_ids(later, known) == {
        Path("w/a.html"): "w/a-html",
        Path("w/a.txt"): "w/a",
        Path("w/old.md"): "w/old-md",
        Path("w/new.txt"): "w/new",
    }
    assert file_ids([Path("w/old.txt")], known) == {Path("w/old.txt"): "w/old"}  # back: its own id again
