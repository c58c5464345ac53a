from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import EMBED_CHUNK, build_index
from index.embed import HashEmbedder
from index.layout import Layout
from index.snapshot import Snapshot
from rag.errors import IndexCorruptError, IndexMissingError
from rag.settings import Settings


class ExplodingEmbedder(HashEmbedder):
    """Fails after a number of embed calls, like a crash half-way through a build."""

    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_after = fail_after

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls > self.fail_after:
            raise KeyboardInterrupt
        return super().embed(texts)


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)


def test_build_then_open(settings: Settings) -> None:
    report = build_index(settings, HashEmbedder())
    snap = Snapshot.open(settings)
    assert report.articles == 2 and report.passages == len(snap.passages) == snap.store.count()
    assert set(snap.articles) == {"000_f719a2aea238f342", "001_8c1d7f895dc4d7a5"}
    for p in snap.passages:
        assert snap.articles[p.doc_id].body[p.start : p.end] == p.text
    # The nearest vector to a passage's own text is that passage.
    p = snap.passages[3]
    assert snap.store.query(HashEmbedder().embed([p.text])[0], 1)[0][0] == p.id


def test_rerun_embeds_nothing_and_never_duplicates(settings: Settings) -> None:
    first = build_index(settings, HashEmbedder())
    emb = CountingEmbedder()
    second = build_index(settings, emb)
    assert second.up_to_date and emb.texts == []
    assert second.passages == first.passages == Snapshot.open(settings).store.count()
    assert second.generation == first.generation


def test_only_changed_and_new_articles_are_embedded(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    build_index(settings, HashEmbedder())
    f = seeds_copy / "000_f719a2aea238f342.txt"
    f.write_text(f.read_text() + "\nA brand new closing sentence about Basra.\n")
    (seeds_copy / "extra.md").write_text("# Extra\n\nMosul is in the north. It is large.")
    emb = CountingEmbedder()
    report = build_index(settings, emb)
    assert report.changed == ("000_f719a2aea238f342",) and report.added == ("extra",)
    snap = Snapshot.open(settings)
    assert all(not t.startswith("Several of the Iranian") for t in emb.texts)  # 001 untouched
    assert any("Basra" in t for t in emb.texts)
    assert snap.store.count() == len(snap.passages) == report.passages
    assert len({p.id for p in snap.passages}) == len(snap.passages)


def test_deleted_article_is_removed(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    build_index(settings, HashEmbedder())
    (seeds_copy / "000_f719a2aea238f342.txt").unlink()
    report = build_index(settings, HashEmbedder())
    snap = Snapshot.open(settings)
    assert report.removed == ("000_f719a2aea238f342",)
    assert {p.doc_id for p in snap.passages} == {"001_8c1d7f895dc4d7a5"}
    assert snap.store.count() == len(snap.passages)


def test_changing_chunking_rebuilds(settings: Settings) -> None:
    first = build_index(settings, HashEmbedder())
    report = build_index(settings.replace(chunk_size=300, chunk_overlap=0), HashEmbedder())
    assert report.rebuilt and report.embedded == report.passages > first.passages


def test_interrupted_build_keeps_previous_index(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    build_index(settings, HashEmbedder())
    before = Snapshot.open(settings)
    for i in range(80):
        body = " ".join(f"Item {i} has sentence {j} here." for j in range(120))
        (seeds_copy / f"new{i}.txt").write_text(f"Headline {i}\nMay 1, 2025\n{body}")
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, ExplodingEmbedder(fail_after=1))
    after = Snapshot.open(settings)
    assert after.generation == before.generation
    assert len(after.passages) == len(before.passages) == after.store.count()
    counting = CountingEmbedder()
    report = build_index(settings, counting)  # re-running completes the build...
    assert report.articles == 82 and Snapshot.open(settings).store.count() == report.passages
    # ...without embedding again the chunk the interrupted build had stored.
    assert report.resumed == EMBED_CHUNK and len(counting.texts) == report.embedded > 0
    assert len(Layout(settings.data_dir).generations()) <= 2


def test_missing_and_corrupt_index(settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="rag index"):
        Snapshot.open(settings)
    build_index(settings, HashEmbedder())
    gen = Layout(settings.data_dir).require_current()
    (gen / "passages.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        Snapshot.open(settings)
    (settings.data_dir / "CURRENT").write_text("garbage")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        Snapshot.open(settings)
    # A build over a damaged index starts again from scratch and works.
    report = build_index(settings, HashEmbedder())
    assert Snapshot.open(settings).store.count() == report.passages


def test_bad_files_are_skipped_with_reasons(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy, max_file_bytes=20_000)
    (seeds_copy / "empty.txt").write_bytes(b"")
    (seeds_copy / "image.txt").write_bytes(b"\x89PNG\x00\x00binary")
    (seeds_copy / "latin.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d" * 10)
    (seeds_copy / "huge.txt").write_text("x " * 20_000)
    (seeds_copy / "good.html").write_text("<html><body><p>Fine article about Erbil.</p></body></html>")
    report = build_index(settings, HashEmbedder())
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "image.txt", "latin.txt", "huge.txt"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["image.txt"]
    assert "limit" in reasons["huge.txt"] and "UTF-8" in reasons["latin.txt"]
    assert report.articles == 3


def test_a_store_counts_what_it_holds_after_every_write(tmp_path: Path) -> None:
    from index.store import VectorStore
    from rag.types import Passage

    store = VectorStore.open("", tmp_path / "chroma", "counted")
    passages = [Passage(f"p{i}", f"d{i % 2}", 0, 5, "hello", ((0, 5),)) for i in range(4)]
    vectors = HashEmbedder().embed([f"text {i}" for i in range(4)])
    assert store.count() == 0
    store.add(passages[:3], vectors[:3])
    assert store.count() == 3  # the count kept for queries follows the writes
    store.add(passages[3:], vectors[3:])
    assert store.count() == 4 and len(store.query(vectors[0], 10)) == 4
    store.delete_docs(["d0"])
    assert store.count() == 2 and {pid for pid, _ in store.query(vectors[1], 10)} == {"p1", "p3"}


def test_passage_records_read_back_as_the_passages_that_were_written(settings: Settings, tmp_path: Path) -> None:
    import json

    from index.chunk import chunk_article
    from index.records import load_records, save_records

    build_index(settings, HashEmbedder())
    snap = Snapshot.open(settings)
    articles = list(snap.articles.values())
    written = [p for a in articles for p in chunk_article(a, settings.chunk_size, settings.chunk_overlap)]
    save_records(tmp_path, articles, written)
    _, table = load_records(tmp_path)
    assert list(table) == written and len(table) == len(written) > 1
    last = written[-1]
    assert table[-1] == last and table.get(last.id) == last and table.row_of(last.id) == len(written) - 1
    assert table.get("no-such-passage") is None and table[1:3] == written[1:3]
    rows = table.rows_by_doc()
    assert {d: [table[int(r)].id for r in rs] for d, rs in rows.items()} == {
        a.doc_id: [p.id for p in written if p.doc_id == a.doc_id] for a in articles
    }
    # An offset past its article's end is damage, not a passage.
    columns = json.loads((tmp_path / "passages.json").read_text())
    columns["end"][0] = 10**9
    (tmp_path / "passages.json").write_text(json.dumps(columns))
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        load_records(tmp_path)


def test_the_archive_knows_its_names_years_and_dated_months(settings: Settings) -> None:
    from rag.retrieve import ArchiveWords

    build_index(settings, HashEmbedder())
    archive = ArchiveWords(Snapshot.open(settings))
    assert archive.has_word("sudani") and archive.has_word("hezbollah") and archive.has_word("reuters")
    assert archive.has_word("sudany")  # a one-letter misspelling of a name the archive uses
    assert archive.has_word("april")  # from the articles' dates, not their text
    assert not archive.has_word("basra") and not archive.has_word("champion")
    assert archive.has_year("2025") and not archive.has_year("1998")


def test_an_index_in_the_old_record_format_is_upgraded_in_place_without_re_embedding(settings: Settings) -> None:
    import json

    from index.records import write_jsonl

    build_index(settings, HashEmbedder())
    gen = Layout(settings.data_dir).require_current()
    before = Snapshot.open(settings)
    passages = list(before.passages)
    before.store.close()
    # Format 1: one JSON line per passage, manifest version 1.
    write_jsonl(
        gen / "passages.jsonl", ([p.id, p.doc_id, p.start, p.end, [list(s) for s in p.sentences]] for p in passages)
    )
    (gen / "passages.json").unlink()
    manifest = json.loads((gen / "manifest.json").read_text())
    (gen / "manifest.json").write_text(json.dumps({**manifest, "version": 1}))
    after = Snapshot.open(settings)
    assert list(after.passages) == passages and after.manifest["version"] == 2
    assert not (gen / "passages.jsonl").exists() and json.loads((gen / "manifest.json").read_text())["version"] == 2
    embedder = CountingEmbedder()
    report = build_index(settings, embedder)  # the upgraded generation is current: nothing re-embedded
    assert embedder.texts == [] and report.passages == len(passages)


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: c["end"].__setitem__(0, 2**70),  # too big for any integer column
        lambda c: c["ids"].__setitem__(0, ["not", "a", "string"]),
        lambda c: c["ids"].__setitem__(1, c["ids"][0]),  # a repeated passage id
        lambda c: c["start"].__setitem__(0, 1.5),
        lambda c: c["sentences"].__setitem__(1, 10**6),  # a sentence ending past its passage
        lambda c: c.__setitem__("docs", c["docs"] + c["docs"][:1]),
    ],
)
def test_damaged_passage_columns_are_one_clear_error(settings: Settings, damage) -> None:  # type: ignore[no-untyped-def]
    import json

    from index.records import load_records

    build_index(settings, HashEmbedder())
    gen = Layout(settings.data_dir).require_current()
    columns = json.loads((gen / "passages.json").read_text())
    damage(columns)
    (gen / "passages.json").write_text(json.dumps(columns))
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        load_records(gen)


SLOW_BUILD = """
import sys, time
from index.build import build_index
from index.embed import HashEmbedder
from rag.settings import Settings

class Slow(HashEmbedder):
    calls = 0
    def embed(self, texts):
        self.calls += 1
        if self.calls == 2:  # the first chunk is in the store: say so, then wait to be killed
            print("stored", flush=True)
            time.sleep(60)
        return super().embed(texts)

settings = Settings.from_env(data_dir=sys.argv[1], documents=sys.argv[2], embedder="fake", seeds="off")
build_index(settings, Slow())
"""


def test_a_killed_build_of_an_export_resumes_without_embedding_again(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    docs = tmp_path / "docs"
    docs.mkdir()
    rows = [
        {"id": f"r{i}", "title": f"Report {i}", "text": f"Item {i} was filed on day {i % 28 + 1}."} for i in range(1300)
    ]
    lines = [json.dumps(r) for r in rows] + ["{broken", json.dumps({"title": "no text"})]
    (docs / "export.jsonl").write_text("\n".join(lines) + "\n")
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_BUILD, str(data), str(docs)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "stored"
    finally:
        proc.kill()  # SIGKILL: no cleanup of any kind runs
        proc.wait()
    settings = Settings.from_env(data_dir=data, documents=docs, embedder="fake", seeds="off")
    assert Layout(data).current() is None  # nothing was published
    counting = CountingEmbedder()
    report = build_index(settings, counting)
    assert report.articles == 1300 == len(Snapshot.open(settings).articles)  # every valid row, once
    assert report.resumed == EMBED_CHUNK and len(counting.texts) == report.embedded == 1300 - EMBED_CHUNK
    snap = Snapshot.open(settings)
    assert snap.store.count() == report.passages == 1300
    assert len(report.skipped) == 2
    # The vector matrix holds the killed run's vectors (read back from the store) and this run's.
    assert snap.vectors is not None
    assert np.allclose(snap.vectors.matrix, HashEmbedder().embed([p.text for p in snap.passages]), atol=1e-6)


def test_resume_restores_passages_the_interrupted_build_had_deleted(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    build_index(settings, HashEmbedder())
    target = sorted(seeds_copy.glob("*.txt"))[0]
    original = target.read_text()
    target.write_text(original + "\nA late correction changed one figure.")
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, ExplodingEmbedder(fail_after=0))  # its old passages were already deleted
    target.write_text(original)  # ...and the article comes back as it was
    report = build_index(settings, HashEmbedder())
    assert Snapshot.open(settings).store.count() == report.passages == len(Snapshot.open(settings).passages)
    # --rebuild starts over instead of resuming.
    target.write_text(original + "\nAnother correction.")
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, ExplodingEmbedder(fail_after=0))
    counting = CountingEmbedder()
    report = build_index(settings, counting, rebuild=True)
    assert report.resumed == 0 and len(counting.texts) == report.passages
