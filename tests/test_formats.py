"""The formats an archive comes in, ids that never collide, duplicates indexed once, and which
folders make up the archive. Every text here was written for these tests."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from index.build import build_index, source_folders
from index.embed import HashEmbedder
from index.exports import parse_map
from index.files import load_articles
from index.snapshot import Snapshot
from index.sources import Limits, read_source
from rag.errors import BadFileError
from rag.indexing import add_paths
from rag.settings import Settings

STORY = (
    "Dock workers at the northern port of Varleigh returned to work on Tuesday after a nine-day strike over "
    "night-shift pay ended with a six percent raise. The union said 1,200 members voted to accept the offer, "
    "which also adds two rest days a month. Shipping lines had diverted 40 vessels to southern terminals "
    "during the stoppage, and port officials said the backlog would take a week to clear. The harbour master, "
    "Ines Calloway, thanked crews for working through the weekend to restore the cranes."
)

PAGE = f"""<!doctype html><html><head><title>Strike ends | The Harbour Gazette</title>
<meta property="og:title" content="Varleigh port strike ends after nine days">
<meta property="og:site_name" content="The Harbour Gazette">
<meta property="article:published_time" content="2024-03-05T08:30:00Z">
<meta name="author" content="Mara Quell">
<link rel="canonical" href="https://gazette.example/port-strike">
</head><body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<div class="promo">Sign up for our morning newsletter</div>
<article><h1>Varleigh port strike ends after nine days</h1><p>By Mara Quell</p>
<p>{STORY[:200]}</p>
<figure><img src="cranes.jpg"><figcaption>Photo: Lee Ann / Gazette</figcaption></figure>
<div class="video">Video Ad Feedback</div>
<p>{STORY[200:]}</p></article>
<aside><h3>Most read</h3><ul><li>Ferry fares to rise</li><li>Lighthouse restored</li></ul></aside>
<footer>© 2024 The Harbour Gazette. All rights reserved.</footer></body></html>"""

RSS = """<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Coastal Wire</title><link>https://wire.example</link><description>News</description>
<item><title>Ferry fares to rise in May</title><link>https://wire.example/ferry</link><guid>wire-101</guid>
<pubDate>Tue, 02 Apr 2024 09:15:00 GMT</pubDate><author>desk@wire.example (Tomas Reyna)</author>
<description>Short teaser.</description>
<content:encoded><![CDATA[<p>Ferry fares on the island routes will rise by 8% in May, the operator said.</p><p>Season tickets are exempt.</p>]]></content:encoded></item>
<item><title>Lighthouse restored</title><link>https://wire.example/lighthouse</link>
<pubDate>Wed, 03 Apr 2024 10:00:00 GMT</pubDate><description>The old lighthouse at Kestrel Point shines again after a two-year restoration.</description></item>
<item><title>Photo gallery</title><link>https://wire.example/gallery</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Valley Times</title><id>urn:valley</id>
<updated>2024-05-01T12:00:00Z</updated>
<entry><title>Dam inspection finds no cracks</title><id>urn:valley:7</id><link href="https://valley.example/dam"/>
<updated>2024-05-01T12:00:00Z</updated><author><name>Asha Verde</name></author>
<content type="html">&lt;p&gt;Engineers inspecting the Orlen dam found no cracks, the water board said on Wednesday.&lt;/p&gt;</content></entry>
</feed>"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read(path: Path, fields: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return read_source(path, path.stem, Limits(), fields)


# --- Formats ----------------------------------------------------------------------------------


def test_saved_news_page_gives_main_text_and_metadata_without_boilerplate(tmp_path: Path) -> None:
    [a] = read(write(tmp_path / "strike.html", PAGE)).articles
    assert a.title == "Varleigh port strike ends after nine days"
    assert (a.date, a.time) == ("2024-03-05", "08:30")
    assert a.source == "The Harbour Gazette" and a.author == "Mara Quell"
    assert a.url == "https://gazette.example/port-strike"
    assert a.body.startswith("Dock workers at the northern port") and "Ines Calloway" in a.body
    for furniture in (
        "newsletter",
        "Video Ad Feedback",
        "Photo: Lee Ann",
        "Most read",
        "All rights",
        "Home",
        "By Mara",
    ):
        assert furniture not in a.body, furniture


def test_a_page_of_menus_only_is_not_an_article(tmp_path: Path) -> None:
    page = "<html><body><nav>Home | Weather | About us</nav><footer>Contact</footer></body></html>"
    with pytest.raises(BadFileError, match="no article text found"):
        read(write(tmp_path / "menu.html", page))
    # A short XHTML page that declares its encoding is read (lxml refuses such a string as it is).
    xhtml = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body><nav>Home</nav>'
        "<article><p>The night ferry sails at ten.</p><p>Tickets cost four pounds.</p></article></body></html>"
    )
    [a] = read(write(tmp_path / "ferry.xhtml.html", xhtml)).articles
    assert a.body == "The night ferry sails at ten.\nTickets cost four pounds."


def test_a_page_dates_from_its_publication_markup_not_a_footer_or_an_update(tmp_path: Path) -> None:
    undated = (
        "<html><body><nav>Home</nav><p>The night ferry sails at ten.</p><footer>(c) 2023 Wire</footer></body></html>"
    )
    [a] = read(write(tmp_path / "ferry.html", undated)).articles
    assert a.body == "The night ferry sails at ten." and a.date is None  # not 1 January 2023
    updated = (
        '<html><head><meta property="article:published_time" content="2024-03-05T08:30:00Z">'
        '<meta property="article:modified_time" content="2024-06-01T10:00:00Z"></head>'
        "<body><article><p>The night ferry sails at ten from the north quay.</p></article></body></html>"
    )
    [b] = read(write(tmp_path / "updated.html", updated)).articles
    assert b.date == "2024-03-05"


def test_rss_feed_gives_one_article_per_entry_with_full_content(tmp_path: Path) -> None:
    found = read(write(tmp_path / "wire.rss", RSS))
    ferry, lighthouse = found.articles
    assert ferry.doc_id == "wire/wire-101" and ferry.title == "Ferry fares to rise in May"
    assert (
        ferry.body
        == "Ferry fares on the island routes will rise by 8% in May, the operator said.\nSeason tickets are exempt."
    )
    assert (ferry.date, ferry.time, ferry.source) == ("2024-04-02", "09:15", "Coastal Wire")
    assert ferry.url == "https://wire.example/ferry" and "Tomas Reyna" in (ferry.author or "")
    assert lighthouse.body.startswith("The old lighthouse at Kestrel Point")  # summary when no full content
    assert lighthouse.doc_id.startswith("wire/") and lighthouse.doc_id != ferry.doc_id
    [skipped] = found.skipped
    assert (
        skipped.path.endswith("wire.rss entry 3") and "no text" in skipped.reason and "Photo gallery" in skipped.reason
    )


def test_a_feed_cut_off_keeps_its_whole_entries_and_says_where_it_broke(tmp_path: Path) -> None:
    # Cut inside the second entry's description (an interrupted download).
    cut = RSS[: RSS.index("after a two-year")]
    found = read(write(tmp_path / "wire.rss", cut))
    assert [a.title for a in found.articles] == ["Ferry fares to rise in May"]
    [skipped] = found.skipped
    assert skipped.path.endswith("wire.rss entry 2") and "breaks off before its end" in skipped.reason
    # Cut between entries: every entry is whole, and the break is still reported.
    between = RSS[: RSS.index("<item><title>Photo gallery")]
    found = read(write(tmp_path / "wire2.rss", between))
    assert [a.title for a in found.articles] == ["Ferry fares to rise in May", "Lighthouse restored"]
    [skipped] = found.skipped
    assert skipped.path.endswith("wire2.rss") and "after its last whole entry: all 2 were read" in skipped.reason
    # Cut inside the first entry: nothing whole to read.
    with pytest.raises(BadFileError, match="breaks off before its end .* inside its first entry"):
        read(write(tmp_path / "wire3.rss", RSS[: RSS.index("Season tickets")]))
    # A stray '&' mid-feed (not a cut) is read past by the lenient parser, as before.
    stray = RSS.replace("Lighthouse restored", "Lighthouse & pier restored")
    found = read(write(tmp_path / "wire4.rss", stray))
    assert len(found.articles) == 2 and [s.reason for s in found.skipped if "breaks off" in s.reason] == []
    # Whole files with an error inside are read past too: one line with a stray '&', junk after the end.
    for name, text in (
        ("one-line.rss", stray.replace("\n", "")),
        ("junk.rss", RSS + "\nGARBAGE after the end of the feed"),
    ):
        found = read(write(tmp_path / name, text))
        assert len(found.articles) == 2 and not [s for s in found.skipped if "breaks off" in s.reason], name
    # Entries with a namespace prefix are counted as whole: cut after two of them, both are kept.
    atom = (
        '<?xml version="1.0"?><a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>Valley</a:title>\n'
        "<a:entry><a:title>Dam inspected</a:title><a:id>1</a:id><a:content>No cracks were found.</a:content></a:entry>\n"
        "<a:entry ><a:title>Bridge reopens</a:title><a:id>2</a:id><a:content>It reopened.</a:content></a:entry >\n"
    )
    found = read(write(tmp_path / "prefixed.atom", atom))
    assert [a.title for a in found.articles] == ["Dam inspected", "Bridge reopens"]
    assert [s.reason for s in found.skipped] == [
        "the feed breaks off before its end (no element found), after its last whole entry: all 2 were read"
    ]


def test_atom_feed_and_its_html_content(tmp_path: Path) -> None:
    [a] = read(write(tmp_path / "valley.xml", ATOM)).articles
    assert a.title == "Dam inspection finds no cracks" and a.source == "Valley Times" and a.author == "Asha Verde"
    assert a.body == "Engineers inspecting the Orlen dam found no cracks, the water board said on Wednesday."
    assert a.date == "2024-05-01" and a.url == "https://valley.example/dam"


def test_broken_feed_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(BadFileError, match="breaks off before its end .* inside its first entry") as caught:
        read(write(tmp_path / "broken.rss", "<rss><channel><title>x</title><item><title>unclosed"))
    assert "\n" not in str(caught.value)
    with pytest.raises(BadFileError, match="not an RSS or Atom feed") as caught:
        read(write(tmp_path / "notes.xml", "<notes><note>Buy milk</note></notes>"))
    assert "\n" not in str(caught.value)
    with pytest.raises(BadFileError, match="empty file"):
        read(write(tmp_path / "empty.xml", ""))


def test_a_feed_too_large_to_read_whole_is_refused_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.feeds

    feed = write(tmp_path / "wire.rss", RSS)
    assert len(read(feed).articles) == 2
    monkeypatch.setattr(index.feeds, "WHOLE_FEED_BYTES", feed.stat().st_size - 1)
    with pytest.raises(BadFileError, match="read whole") as caught:
        read(feed)
    assert "\n" not in str(caught.value) and "JSON Lines" in str(caught.value)


def test_jsonl_export_rows_and_bad_rows(tmp_path: Path) -> None:
    rows = [
        json.dumps(
            {
                "id": "a1",
                "headline": "Ferry fares to rise",
                "published_at": "2024-04-02T09:15:00Z",
                "source": {"id": None, "name": "Coastal Wire"},
                "url": "https://wire.example/ferry",
                "content": "Ferry fares will rise by 8% in May.",
                "authors": ["Tomas Reyna", "Li Wen"],
            }
        ),
        "{not json",
        json.dumps({"title": "No text here", "date": "2024-04-03"}),
        json.dumps(["a", "list"]),
        "",
        json.dumps(
            {"title": "Lighthouse restored", "date": "April 3, 2024", "text": "<p>The lighthouse shines again.</p>"}
        ),
    ]
    found = read(write(tmp_path / "export.jsonl", "\n".join(rows) + "\n"))
    ferry, lighthouse = found.articles
    assert ferry.doc_id == "export/a1" and ferry.title == "Ferry fares to rise" and ferry.source == "Coastal Wire"
    assert (ferry.date, ferry.time) == ("2024-04-02", "09:15") and ferry.author == "Tomas Reyna, Li Wen"
    assert lighthouse.body == "The lighthouse shines again." and lighthouse.date == "2024-04-03"
    reasons = {s.path.rsplit(" ", 2)[-1]: s.reason for s in found.skipped}
    assert reasons == {"2": "not valid JSON (JSONDecodeError)", "3": "no article text", "4": "not a JSON object"}
    # The row key is stable: reading again gives the same ids.
    assert [a.doc_id for a in read(tmp_path / "export.jsonl").articles] == [ferry.doc_id, lighthouse.doc_id]


def test_json_array_exports_are_read_row_by_row_and_a_cut_file_keeps_its_first_rows(tmp_path: Path) -> None:
    rows = [
        {"title": f"Tide table {i}", "date": f"2024-05-0{i + 1}", "text": f"High tide at {i} pm."} for i in range(3)
    ]
    plain = read(write(tmp_path / "plain.json", json.dumps(rows)))
    assert [a.title for a in plain.articles] == ["Tide table 0", "Tide table 1", "Tide table 2"]
    wrapped = {"status": "ok", "meta": {"pages": [1, 2]}, "articles": [rows[0], "a string", rows[1]], "more": []}
    found = read(write(tmp_path / "wrapped.json", json.dumps(wrapped)))
    assert [a.title for a in found.articles] == ["Tide table 0", "Tide table 1"]
    assert [s.reason for s in found.skipped] == ["not a JSON object"]
    cut = json.dumps(rows)[:-40]  # a download that stopped part way through the last row
    found = read(write(tmp_path / "cut.json", cut))
    assert [a.title for a in found.articles] == ["Tide table 0", "Tide table 1"]
    assert [s.reason for s in found.skipped] == ["not valid JSON from here on (IncompleteJSONError)"]
    # What the streaming parser does not take is read whole: a byte-order mark, UTF-16, NaN.
    for name, data in (
        ("bom.json", codecs.BOM_UTF8 + json.dumps(rows).encode()),
        ("utf16.json", json.dumps(rows).encode("utf-16")),
        ("nan.json", json.dumps([{**rows[0], "score": float("nan")}, rows[1], rows[2]]).encode()),
    ):
        found = read(write(tmp_path / name, data))
        assert [a.title for a in found.articles] == ["Tide table 0", "Tide table 1", "Tide table 2"], name
        assert not found.skipped
    for text, reason in (
        ("{not json", "not valid JSON"),
        ('{"count": 3}', "expected a JSON array"),
        ("   ", "not valid JSON"),
    ):
        with pytest.raises(BadFileError, match=reason):
            read(write(tmp_path / "bad.json", text))


def test_csv_export_with_a_column_map_and_a_ragged_line(tmp_path: Path) -> None:
    text = (
        "Story Title;Filed;Paper;Story Body\n"
        "Bridge reopens;2024-06-01;Valley Times;The Orlen bridge reopened on Saturday after repairs.\n"
        "Too;many;fields;here;extra\n"
        '"Market, moved";2024-06-02;Valley Times;"The Saturday market moved to the quay; traders welcomed it."\n'
    )
    path = write(tmp_path / "papers.csv", text)
    assert read(path).articles == []  # no usual column names: nothing is guessed
    fields = parse_map("title=Story Title,date=Filed,source=Paper,body=Story Body")
    found = read(path, fields)
    bridge, market = found.articles
    assert (bridge.title, bridge.date, bridge.source) == ("Bridge reopens", "2024-06-01", "Valley Times")
    assert market.title == "Market, moved" and market.body.endswith("traders welcomed it.")
    [ragged] = found.skipped
    assert ragged.path.endswith("line 3") and ragged.reason == "5 fields, the header has 4"
    with pytest.raises(ValueError, match="unknown field 'headline'"):
        parse_map("headline=Story Title")
    with pytest.raises(ValueError, match="FIELD=COLUMN"):
        parse_map("title")


def test_csv_exports_in_windows_1252_keep_their_accents(tmp_path: Path) -> None:
    body = "The caf\u00e9 on the quay reopened \u2013 its owner said \u201cat last\u201d."
    filler = "".join(f"Story {i},Plain text number {i}.\n" for i in range(3000))  # past any sniffed head
    text = "title,text\n" + filler + f"Caf\u00e9 reopens,{body}\n"
    for encoding in ("cp1252", "utf-8", "utf-8-sig"):
        found = read(write(tmp_path / f"{encoding}.csv", text.encode(encoding)))
        assert not found.skipped and found.articles[-1].title == "Caf\u00e9 reopens"
        assert found.articles[-1].body == body, encoding
    # One row pasted in from a Windows file does not garble the UTF-8 rows around it.
    mixed = (
        "title,text\nNa\u00efve start,The \u00fcber-ferry sailed.\n".encode()
        + f"Caf\u00e9 reopens,{body}\n".encode("cp1252")
    )
    first, second = read(write(tmp_path / "mixed.csv", mixed)).articles
    assert (first.title, first.body, second.body) == ("Na\u00efve start", "The \u00fcber-ferry sailed.", body)


def test_jsonl_rows_in_windows_1252_keep_their_accents(tmp_path: Path) -> None:
    body = "The caf\u00e9 on the quay reopened \u2013 its owner said \u201cat last\u201d."
    utf8_row = json.dumps({"title": "Na\u00efve start", "text": "The \u00fcber-ferry sailed."}, ensure_ascii=False)
    cp1252_row = json.dumps({"title": "Caf\u00e9 reopens", "text": body}, ensure_ascii=False)
    # A BOM on the first line (as Windows editors save it), then a row pasted from a Windows file.
    data = b"\xef\xbb\xbf" + utf8_row.encode() + b"\n" + cp1252_row.encode("cp1252") + b"\n"
    found = read(write(tmp_path / "mixed.jsonl", data))
    assert not found.skipped
    assert [(a.title, a.body) for a in found.articles] == [
        ("Na\u00efve start", "The \u00fcber-ferry sailed."),
        ("Caf\u00e9 reopens", body),
    ]


def test_an_interrupted_copy_keeps_the_last_good_copy(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.files

    source = write(tmp_path / "wire" / "a.txt", "Ferry fares to rise\nApril 2, 2024\nFerry fares will rise by 8%.")
    [copy] = add_paths(settings, [source])[0]
    good = copy.read_bytes()
    write(source, "Ferry fares to rise\nApril 3, 2024\nFerry fares will rise by 9% in May, not 8%.")

    def half_copy(src: Path, dst: Path) -> None:  # the disk fills up half way through
        Path(dst).write_bytes(Path(src).read_bytes()[:20])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index.files.shutil, "copyfile", half_copy)
    with pytest.raises(OSError):
        add_paths(settings, [source])
    assert copy.read_bytes() == good
    assert [p.name for p in copy.parent.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.undo()
    add_paths(settings, [source])
    assert b"9%" in copy.read_bytes()


def test_index_a_csv_export_with_map_from_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rag.cli import main

    path = write(tmp_path / "in" / "papers.csv", "Story Title,Story Body\nBridge reopens,The Orlen bridge reopened.\n")
    args = ["--data-dir", str(tmp_path / "d"), "--embedder", "fake", "index", "-q", str(path)]
    result = CliRunner().invoke(main, [*args, "--map", "title=Story Title,body=Story Body"])
    assert result.exit_code == 0, result.output
    articles = Snapshot.open(Settings.from_env(data_dir=tmp_path / "d", embedder="fake")).articles
    assert [a.title for a in articles.values() if a.doc_id.startswith("papers/")] == ["Bridge reopens"]
    # The map is remembered: a plain re-run reads the export the same way.
    rerun = CliRunner().invoke(main, [*args[:-3], "index"])
    assert rerun.exit_code == 0 and "up to date, nothing embedded" in rerun.stdout
    articles = Snapshot.open(Settings.from_env(data_dir=tmp_path / "d", embedder="fake")).articles
    assert [a.title for a in articles.values() if a.doc_id.startswith("papers/")] == ["Bridge reopens"]
    bad = CliRunner().invoke(main, [*args, "--map", "colour=x"])
    assert bad.exit_code == 2 and "unknown field 'colour'" in bad.output


# --- Ids, copies, duplicates ------------------------------------------------------------------


def test_same_file_name_in_two_folders_is_two_articles(settings: Settings, tmp_path: Path) -> None:
    settings = settings.replace(seeds="off")
    write(tmp_path / "bbc" / "article1.txt", "Ferry fares to rise\nApril 2, 2024\nFerry fares will rise by 8% in May.")
    write(tmp_path / "cnn" / "article1.txt", "Dam inspected\nMay 1, 2024\nEngineers found no cracks in the Orlen dam.")
    add_paths(settings, [tmp_path / "bbc", tmp_path / "cnn"])
    report = build_index(settings, HashEmbedder())
    articles = Snapshot.open(settings).articles
    assert report.articles == 2 and set(articles) == {"bbc/article1", "cnn/article1"}
    # Another folder called bbc, from somewhere else, is stored beside it, never over it.
    write(tmp_path / "elsewhere" / "bbc" / "article1.txt", "Bridge reopens\nJune 1, 2024\nThe Orlen bridge reopened.")
    add_paths(settings, [tmp_path / "elsewhere" / "bbc"])
    build_index(settings, HashEmbedder())
    articles = Snapshot.open(settings).articles
    assert set(articles) == {"bbc/article1", "cnn/article1", "bbc-2/article1"}
    assert "Ferry fares" in articles["bbc/article1"].body and "bridge" in articles["bbc-2/article1"].body
    # Re-adding the first folder after an edit updates its copy (the same source, not a new one).
    write(tmp_path / "bbc" / "article1.txt", "Ferry fares to rise\nApril 2, 2024\nFerry fares will rise by 9% in May.")
    add_paths(settings, [tmp_path / "bbc"])
    report = build_index(settings, HashEmbedder())
    assert report.changed == ("bbc/article1",) and report.articles == 3


def test_one_name_in_two_formats_gives_ids_that_never_move_to_another_article(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.replace(seeds="off")
    page = "<html><head><title>Dam inspected</title></head><body><p>Engineers found no cracks in the dam.</p></body></html>"
    write(tmp_path / "wire" / "a.html", page)
    write(tmp_path / "wire" / "a.txt", "Ferry fares to rise\nApril 2, 2024\nFerry fares will rise by 8% in May.")
    write(tmp_path / "wire" / "b.txt", "Bridge reopens\nJune 1, 2024\nThe Orlen bridge reopened on Monday.")
    add_paths(settings, [tmp_path / "wire"])
    build_index(settings, HashEmbedder())
    articles = Snapshot.open(settings).articles
    assert set(articles) == {"wire/a-html", "wire/a-txt", "wire/b"}
    assert "Ferry" in articles["wire/a-txt"].body and "cracks" in articles["wire/a-html"].body
    # Once the page is gone no article takes over its id, and the text file keeps its own.
    (tmp_path / "wire" / "a.html").unlink()
    add_paths(settings, [tmp_path / "wire"])
    build_index(settings, HashEmbedder())
    articles = Snapshot.open(settings).articles
    assert set(articles) == {"wire/a-txt", "wire/b"} and "Ferry" in articles["wire/a-txt"].body
    # The page back: its old id again.
    write(tmp_path / "wire" / "a.html", page)
    add_paths(settings, [tmp_path / "wire"])
    build_index(settings, HashEmbedder())
    assert set(Snapshot.open(settings).articles) == {"wire/a-html", "wire/a-txt", "wire/b"}


def test_an_index_built_before_ids_were_remembered_keeps_them(settings: Settings, tmp_path: Path) -> None:
    from index.layout import Layout, read_manifest, write_json

    settings = settings.replace(seeds="off")
    add_paths(settings, [write(tmp_path / "a.txt", "Pottery fair\nMay 1, 2024\nThe fair drew a record crowd.")])
    add_paths(settings, [write(tmp_path / "wire.rss", RSS)])
    build_index(settings, HashEmbedder())
    before = set(Snapshot.open(settings).articles)
    gen = Layout(settings.data_dir).require_current()
    manifest = read_manifest(gen)
    del manifest["file_ids"]  # as an older version wrote it
    write_json(gen / "manifest.json", manifest)
    page = "<html><head><title>Goat escapes</title></head><body><p>A goat escaped from the farm park.</p></body></html>"
    add_paths(settings, [write(tmp_path / "a.html", page), write(tmp_path / "wire.atom", ATOM)])
    build_index(settings, HashEmbedder())
    after = set(Snapshot.open(settings).articles)
    assert before <= after and after - before == {"a-html"} | {d for d in after if d.startswith("wire-atom/")}


def test_an_article_keeps_its_id_when_a_twin_arrives_or_goes(settings: Settings, tmp_path: Path) -> None:
    from index.build import served_file_ids
    from index.files import remove_document

    settings = settings.replace(seeds="off")
    page = "<html><head><title>Goat escapes</title></head><body><p>A goat escaped from the farm park.</p></body></html>"
    add_paths(settings, [write(tmp_path / "a.txt", "Pottery fair\nMay 1, 2024\nThe pottery fair drew a record crowd.")])
    build_index(settings, HashEmbedder())
    assert set(Snapshot.open(settings).articles) == {"a"}
    add_paths(settings, [write(tmp_path / "a.html", page)])
    build_index(settings, HashEmbedder())
    articles = Snapshot.open(settings).articles
    assert set(articles) == {"a", "a-html"} and "pottery" in articles["a"].body  # "a" is still the fair
    remove_document("a", settings.docs_dir, served_file_ids(settings))
    build_index(settings, HashEmbedder())
    articles = Snapshot.open(settings).articles
    assert set(articles) == {"a-html"} and "goat" in articles["a-html"].body  # not renamed "a"
    # A feed's entries keep theirs when its twin goes.
    rss = RSS.replace("wire-101", "cw-1")
    add_paths(settings, [write(tmp_path / "feed.rss", rss), write(tmp_path / "feed.atom", ATOM)])
    build_index(settings, HashEmbedder())
    before = {d for d in Snapshot.open(settings).articles if d.startswith("feed-atom/")}
    assert before and any(d.startswith("feed-rss/") for d in Snapshot.open(settings).articles)
    remove_document("feed-rss", settings.docs_dir, served_file_ids(settings))
    build_index(settings, HashEmbedder())
    assert set(Snapshot.open(settings).articles) == before | {"a-html"}


def test_re_adding_a_folder_drops_files_deleted_from_it_and_keeps_broken_ones(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.replace(seeds="off")
    write(tmp_path / "wire" / "a.txt", "Ferry fares to rise\nApril 2, 2024\nFerry fares will rise by 8% in May.")
    write(tmp_path / "wire" / "b.txt", "Dam inspected\nMay 1, 2024\nEngineers found no cracks in the Orlen dam.")
    write(tmp_path / "wire" / "c.txt", "Bridge reopens\nJune 1, 2024\nThe Orlen bridge reopened on Monday.")
    add_paths(settings, [tmp_path / "wire"])
    assert build_index(settings, HashEmbedder()).articles == 3
    (tmp_path / "wire" / "b.txt").unlink()
    (tmp_path / "wire" / "c.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # broken now: its good copy stays
    _, skipped = add_paths(settings, [tmp_path / "wire"])
    assert [Path(s.path).name for s in skipped] == ["c.txt"]
    build_index(settings, HashEmbedder())
    assert set(Snapshot.open(settings).articles) == {"wire/a", "wire/c"}


def test_a_folder_copy_cut_short_is_finished_under_the_same_name(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.files

    settings = settings.replace(seeds="off")
    write(tmp_path / "wire" / "a.txt", "Ferry fares to rise\nApril 2, 2024\nFerry fares will rise by 8% in May.")
    write(tmp_path / "wire" / "b.txt", "Dam inspected\nMay 1, 2024\nEngineers found no cracks in the Orlen dam.")
    copy, copied = index.files._copy, []

    def disk_full_after_one(source: Path, target: Path) -> None:
        if copied:
            raise OSError(28, "No space left on device")
        copy(source, target)
        copied.append(target)

    monkeypatch.setattr(index.files, "_copy", disk_full_after_one)
    with pytest.raises(OSError):
        add_paths(settings, [tmp_path / "wire"])
    monkeypatch.setattr(index.files, "_copy", copy)
    add_paths(settings, [tmp_path / "wire"])  # the same folder again: its copy is finished, not made twice
    build_index(settings, HashEmbedder())
    assert set(Snapshot.open(settings).articles) == {"wire/a", "wire/b"}
    assert sorted(p.name for p in settings.docs_dir.iterdir() if not p.name.startswith(".")) == ["wire"]


def test_an_export_whose_new_copy_fails_keeps_its_old_file_and_old_column_map(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.files

    settings = settings.replace(seeds="off")
    export = write(tmp_path / "news.csv", "Headline,Story\nDam inspected,Engineers found no cracks.\n")
    add_paths(settings, [export], fields={"title": "Headline", "body": "Story"})
    write(export, "Title,Text\nBridge reopens,The bridge reopened on Monday.\n")

    def disk_full(source: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index.files, "_copy", disk_full)
    with pytest.raises(OSError):
        add_paths(settings, [export], fields={"title": "Title", "body": "Text"})
    [dam] = load_articles([settings.docs_dir], 5_000_000).articles.values()
    assert dam.title == "Dam inspected" and dam.body == "Engineers found no cracks."  # read by its own map


def test_a_single_file_name_taken_by_another_file_gets_a_new_name(settings: Settings, tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "note.txt", "Ferry fares\nApril 2, 2024\nFerry fares will rise by 8% in May.")
    second = write(tmp_path / "b" / "note.txt", "Dam inspected\nMay 1, 2024\nEngineers found no cracks.")
    added, _ = add_paths(settings, [first, second, first])
    assert [p.name for p in added] == ["note.txt", "note-2.txt", "note.txt"]
    assert (
        "Ferry" in (settings.docs_dir / "note.txt").read_text()
        and "Dam" in (settings.docs_dir / "note-2.txt").read_text()
    )


def test_the_same_article_twice_is_indexed_once_with_both_sources(settings: Settings, tmp_path: Path) -> None:
    settings = settings.replace(seeds="off")
    write(tmp_path / "wire" / "strike.txt", f"Varleigh strike ends\nMarch 5, 2024\nSource: Coastal Wire\n{STORY}")
    # The same story on another site: its own headline, a line added at the end.
    write(
        tmp_path / "gazette" / "strike.txt",
        f"Port strike over\nMarch 5, 2024\nSource: The Harbour Gazette\n{STORY}\nRead more on our website.",
    )
    # A different story on the same topic, in other words: a different article.
    write(
        tmp_path / "gazette" / "cranes.txt",
        "Cranes restored\nMarch 6, 2024\nSource: The Harbour Gazette\n"
        + "Crews restored the three cranes at Varleigh over the weekend, the harbour master Ines Calloway said, "
        "after the nine-day stoppage over pay for night shifts. Forty ships had gone south while the strike "
        "lasted, and the backlog will take a week to clear, officials said on Wednesday morning at the quay.",
    )
    add_paths(settings, [tmp_path / "wire", tmp_path / "gazette"])
    report = build_index(settings, HashEmbedder())
    articles = Snapshot.open(settings).articles
    assert report.articles == 2 and report.merged == 1
    kept = articles["gazette/strike"]  # the first in order is kept, the other listed
    assert [(c.doc_id, c.source) for c in kept.also] == [("wire/strike", "Coastal Wire")]
    assert kept.sources == ("The Harbour Gazette", "Coastal Wire")
    assert "gazette/cranes" in articles
    # The listing follows the folders: the copy gone, the article stands alone (nothing re-embedded).
    (settings.docs_dir / "wire" / "strike.txt").unlink()
    report = build_index(settings, HashEmbedder())
    assert report.embedded == 0 and Snapshot.open(settings).articles["gazette/strike"].also == ()


def test_copies_are_shown_on_citations(settings: Settings, tmp_path: Path) -> None:
    from rag.pipeline import Pipeline

    settings = settings.replace(seeds="off")
    for outlet in ("Coastal Wire", "The Harbour Gazette"):
        write(
            tmp_path / "in" / f"{outlet.split()[-1].lower()}.txt",
            f"Strike ends\nMarch 5, 2024\nSource: {outlet}\n{STORY}",
        )
    add_paths(settings, [tmp_path / "in"])
    build_index(settings, HashEmbedder())
    answer = Pipeline(settings, HashEmbedder()).ask("How many members did the union say voted to accept the offer?")
    cited = [c.to_json() for c in answer.citations]
    assert cited and all(c["also"] == [{"doc_id": "in/wire", "source": "Coastal Wire", "url": None}] for c in cited)


# --- Which folders make up the archive --------------------------------------------------------


def test_seeds_are_the_demo_until_the_archive_has_its_own_articles(settings: Settings, tmp_path: Path) -> None:
    settings = settings.replace(seeds="auto")
    assert source_folders(settings) == [settings.seeds_dir, settings.docs_dir]
    assert build_index(settings, HashEmbedder()).articles == 2  # the demo
    add_paths(settings, [write(tmp_path / "note.txt", "Dam inspected\nMay 1, 2024\nEngineers found no cracks.")])
    assert source_folders(settings) == [settings.docs_dir]
    report = build_index(settings, HashEmbedder())
    assert set(Snapshot.open(settings).articles) == {"note"} and len(report.removed) == 2
    # Asked for, the seeds stay beside the user's articles.
    assert build_index(settings.replace(seeds="on"), HashEmbedder()).articles == 3


def test_a_documents_folder_is_indexed_in_place(tmp_path: Path) -> None:
    mine = tmp_path / "my-archive"
    write(mine / "2024" / "dam.txt", "Dam inspected\nMay 1, 2024\nEngineers found no cracks.")
    settings = Settings.from_env(data_dir=tmp_path / "d", documents=mine, embedder="fake", seeds="auto")
    assert settings.docs_dir == mine
    build_index(settings, HashEmbedder())
    assert set(Snapshot.open(settings).articles) == {"2024/dam"}
    assert list(mine.rglob("*")) == [mine / "2024", mine / "2024" / "dam.txt"]  # nothing written into it
    # Nothing is copied into it or deleted from it either: the folder is the user's.
    from rag.indexing import run_index

    with pytest.raises(BadFileError, match="indexed in place"):
        run_index(settings, [], remove_ids=["2024/dam"], quiet=True)
    with pytest.raises(BadFileError, match="indexed in place"):
        run_index(settings, [mine / "2024" / "dam.txt"], quiet=True)
    assert (mine / "2024" / "dam.txt").is_file()


def test_load_articles_reports_every_skip_with_its_place(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder / "ok.txt", "Dam inspected\nMay 1, 2024\nEngineers found no cracks.")
    write(folder / "bin.txt", b"\x00\x01\x02")
    write(folder / "rows.jsonl", '{"title": "x"}\n{"text": "The bridge reopened."}\n')
    loaded = load_articles([folder], 5_000_000)
    assert set(loaded.articles) == {"ok", "rows/" + next(d for d in loaded.articles if d.startswith("rows/"))[5:]}
    assert sorted(Path(s.path.split(" ")[0]).name for s in loaded.skipped) == ["bin.txt", "rows.jsonl"]


def test_review_cases_feed_path_trick_folder_name_clash_surrogates_quotes(settings: Settings, tmp_path: Path) -> None:
    # A "feed" whose whole text is a path never pulls that file in.
    secret = write(tmp_path / "secret" / "private.rss", RSS)
    with pytest.raises(BadFileError):
        read(write(tmp_path / "trick.rss", str(secret)))
    # Two names that become the same safe name inside one folder are both kept.
    write(tmp_path / "clash" / "a b.txt", "One\nMay 1, 2024\nThe first story about the quay.")
    write(tmp_path / "clash" / "a_b.txt", "Two\nMay 2, 2024\nThe second story about the dam.")
    added, _ = add_paths(settings, [tmp_path / "clash"])
    assert len(added) == 2 and len({p.read_text() for p in added}) == 2
    # A lone surrogate in a JSON row is replaced, not a crash of the whole build.
    rows = write(tmp_path / "s.jsonl", '{"title": "Cut", "text": "An emoji cut in half \\ud83d here."}\n')
    [row] = read(rows).articles
    assert "\ufffd" in row.body
    # Standard CSV quoting ("" inside quotes) after 64 KB of rows that never needed it.
    filler = "".join(f"Story {i},Plain text number {i}.\n" for i in range(3000))
    csv_text = "title,text\n" + filler + '"Quoted","He said ""no, never"" and left."\n'
    found = read(write(tmp_path / "q.csv", csv_text))
    assert not found.skipped and found.articles[-1].body == 'He said "no, never" and left.'
    # Short texts shared by different entries (a stock teaser) are not merged.
    teaser = "Read the full story on our site."
    write(tmp_path / "teasers" / "a.txt", f"First headline\nMay 1, 2024\n{teaser}")
    write(tmp_path / "teasers" / "b.txt", f"Second headline\nMay 2, 2024\n{teaser}")
    loaded = load_articles([tmp_path / "teasers"], 5_000_000)
    assert len(loaded.articles) == 2 and loaded.merged == 0


def test_remove_finds_the_file_by_the_articles_own_path(settings: Settings, tmp_path: Path) -> None:
    from index.files import remove_document

    write(tmp_path / "bbc" / "report.txt", "Report\nMay 1, 2024\nThe report on the quay.")
    write(tmp_path / "bbc" / "report.csv", "title,text\nRow one,The first row.\nRow two,The second row.\n")
    add_paths(settings, [tmp_path / "bbc"])
    ids = set(load_articles([settings.docs_dir], 5_000_000).articles)
    row_id = next(d for d in ids if d.startswith("bbc/report-csv/"))
    assert "bbc/report-txt" in ids
    with pytest.raises(
        BadFileError, match="one entry of bbc/report.csv; remove the whole file with --remove bbc/report-csv$"
    ):
        remove_document(row_id, settings.docs_dir)
    removed = remove_document("bbc/report-txt", settings.docs_dir)
    assert removed.name == "report.txt" and (settings.docs_dir / "bbc" / "report.csv").is_file()
    row_id = next(d for d in load_articles([settings.docs_dir], 5_000_000).articles if d.startswith("bbc/report/"))
    with pytest.raises(BadFileError, match="remove the whole file with --remove bbc/report$"):
        remove_document(row_id, settings.docs_dir)
    assert remove_document("bbc/report", settings.docs_dir).name == "report.csv"  # as the message says
    assert not load_articles([settings.docs_dir], 5_000_000).articles
    # A removed export's column map goes with it: a new file of that name is read by its own columns.
    mapped = write(tmp_path / "news.csv", "Headline,Story\nDam inspected,Engineers found no cracks.\n")
    add_paths(settings, [mapped], fields={"title": "Headline", "body": "Story"})
    assert remove_document("news", settings.docs_dir).name == "news.csv"
    write(mapped, "title,text\nBridge reopens,The bridge reopened.\n")
    add_paths(settings, [mapped])
    [bridge] = load_articles([settings.docs_dir], 5_000_000).articles.values()
    assert bridge.body == "The bridge reopened."
