from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from index.layout import Layout
from index.sources import SUPPORTED_HELP
from rag.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--embedder", "fake", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_subcommands_and_settings() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "index" in out and "RAG_DATA_DIR" in out
    documents = next(line for line in out.splitlines() if line.strip().startswith("RAG_DOCUMENTS"))
    assert documents.endswith("(default: (empty))")  # not ".", which reads as the current folder
    code, out, _ = run("index", "--help")
    assert code == 0 and "--rebuild" in out


def test_index_prints_summary_and_is_incremental(tmp_path: Path) -> None:
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index")
    assert code == 0, out
    assert "2 articles" in out and "2 added" in out and "000_f719a2aea238f342" in out
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index")
    assert code == 0 and "up to date, nothing embedded" in out


def test_index_adds_paths_and_reports_skipped(tmp_path: Path) -> None:
    docs = tmp_path / "incoming"
    docs.mkdir()
    (docs / "good story.md").write_text("# Basra port reopens\n\nThe port of Basra reopened on Monday.")
    (docs / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (docs / "notes.pdf").write_bytes(b"%PDF-1.4")
    code, out, err = run(
        "--data-dir", str(tmp_path / "d"), "index", str(docs), str(docs / "notes.pdf"), str(tmp_path / "nope.txt")
    )
    assert code == 3
    assert "3 articles" in out and "incoming/good_story" in out
    assert "broken.txt: binary" in err and "notes.pdf: unsupported type" in err and "nope.txt: no such file" in err
    # The folder keeps its name inside the documents folder.
    assert (tmp_path / "d" / "docs" / "incoming" / "good_story.md").is_file()
    # The added file stays in the archive on the next plain run, and can be removed.
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index")
    assert code == 0 and "3 articles" in out
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index", "--remove", "incoming/good_story")
    assert code == 0 and "2 articles" in out and "1 removed" in out


def test_paths_with_no_readable_article_index_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With the default seeds setting, a build of an archive with no articles of its own indexes
    # the demo: a user whose files were all unreadable must not get the demo instead of an error.
    monkeypatch.setenv("RAG_SEEDS", "auto")
    docs = tmp_path / "mine"
    docs.mkdir()
    (docs / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (docs / "export.jsonl").write_text('{"title": "cut off"\n')
    code, out, err = run("--data-dir", str(tmp_path / "d"), "index", str(docs))
    assert code == 1 and out == ""
    assert "broken.txt: binary" in err and "export.jsonl:" in err
    assert err.strip().splitlines()[-1].startswith("Error: BadFileError: no article could be read from 1 path given")
    assert Layout(tmp_path / "d").current() is None and not Layout(tmp_path / "d").generations()
    # One readable file is enough: the archive is then the user's alone.
    (docs / "story.md").write_text("# Port reopens\n\nThe port reopened on Monday.")
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index", str(docs))
    assert code == 3 and "1 article, 1 passage;" in out and "copied 1 file into" in out


def test_unsupported_files_in_a_folder_are_reported_once(tmp_path: Path) -> None:
    docs = tmp_path / "mixed"
    (docs / "scans").mkdir(parents=True)
    (docs / "story.txt").write_text("Port reopens\n\nThe port reopened on Monday.")
    (docs / "report.docx").write_bytes(b"PK\x03\x04")
    (docs / "scans" / "page1.pdf").write_bytes(b"%PDF-1.4")
    (docs / "scans" / "page2.pdf").write_bytes(b"%PDF-1.4")
    (docs / ".DS_Store").write_bytes(b"\x00")  # hidden files are not the user's articles
    code, out, err = run("--data-dir", str(tmp_path / "d"), "index", str(docs))
    assert code == 3 and "copied 1 file into" in out
    lines = [line for line in err.splitlines() if line.startswith("skipped")]
    assert lines == [f"skipped {docs}: 3 files of unsupported types not read (1 .docx, 2 .pdf); use " + SUPPORTED_HELP]


def test_a_run_that_meets_another_build_copies_nothing(tmp_path: Path) -> None:
    from index.build import build_lock

    story = tmp_path / "story.md"
    story.write_text("# Port reopens\n\nThe port reopened on Monday.")
    with build_lock(Layout(tmp_path / "d")):  # another build is running
        code, out, err = run("--data-dir", str(tmp_path / "d"), "index", str(story))
    assert code == 1 and "another index build is running" in err
    assert not (tmp_path / "d" / "docs").exists() or not list((tmp_path / "d" / "docs").rglob("*.md"))
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index", str(story))
    assert code == 0 and "copied 1 file into" in out


def test_no_other_build_can_start_between_the_copy_and_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.indexing
    from index.build import build_lock
    from rag.errors import RagError

    real = rag.indexing.build_with_progress
    tried: list[str] = []

    def build_after_the_copy(*args, **kwargs):  # type: ignore[no-untyped-def]
        with pytest.raises(RagError, match="another index build is running"):
            with build_lock(Layout(tmp_path / "d")):  # what a second `rag index` would do now
                pass
        tried.append("refused")
        return real(*args, **kwargs)

    monkeypatch.setattr(rag.indexing, "build_with_progress", build_after_the_copy)
    story = tmp_path / "story.md"
    story.write_text("# Port reopens\n\nThe port reopened on Monday.")
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index", str(story))
    assert code == 0 and tried == ["refused"] and "story" in out


def test_a_bad_id_among_several_removes_nothing(tmp_path: Path) -> None:
    story = tmp_path / "story.md"
    story.write_text("# Port reopens\n\nThe port reopened on Monday.")
    assert run("--data-dir", str(tmp_path / "d"), "index", str(story))[0] == 0
    code, out, err = run("--data-dir", str(tmp_path / "d"), "index", "--remove", "story", "--remove", "nope")
    assert code == 1 and "nope: not an uploaded document" in err
    assert (tmp_path / "d" / "docs" / "story.md").is_file()  # the good id's file is still there
    code, out, _ = run("--data-dir", str(tmp_path / "d"), "index", "--remove", "story")
    assert code == 0 and "removed story.md" in out and not (tmp_path / "d" / "docs" / "story.md").exists()


def test_a_bad_row_is_reported_at_the_path_the_user_added(tmp_path: Path) -> None:
    wire = tmp_path / "wire"
    wire.mkdir()
    (wire / "export.csv").write_text("title,text\nPort reopens,The port reopened.\nA,B,C\n")
    code, _, err = run("--data-dir", str(tmp_path / "d"), "index", str(wire))
    assert code == 3
    assert [line for line in err.splitlines() if line.startswith("skipped")] == [
        f"skipped {wire / 'export.csv'} line 3: 3 fields, the header has 2"
    ]  # not the copy in the documents folder


def test_errors_are_one_line(tmp_path: Path) -> None:
    code, out, err = run("--data-dir", str(tmp_path / "d"), "index", "--remove", "000_f719a2aea238f342")
    assert code == 1
    assert err.strip().count("\n") == 0 and "BadFileError" in err and "Traceback" not in err
    result = CliRunner().invoke(main, ["--set", "top_k=lots", "index"])
    assert result.exit_code == 1 and "invalid value" in result.stderr
    result = CliRunner().invoke(main, ["--set", "colour=blue", "index"])
    assert result.exit_code == 1 and "unknown setting" in result.stderr
