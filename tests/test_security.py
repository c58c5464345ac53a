"""Binding, uploads, files that try to reach outside the archive, and no code execution of user data."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.build import build_index
from index.embed import HashEmbedder
from index.files import add_document, find_files, load_articles, safe_name
from index.snapshot import Snapshot
from index.sources import Limits
from rag.cli import main
from rag.errors import BadFileError, RagError
from rag.indexing import add_paths
from rag.settings import PROJECT_ROOT, Settings
from ui.documents import Documents
from ui.pipelines import Pipelines
from ui.server import BackgroundServer, check_bind, create_server

ARTICLE = "Kirkuk oil output\nMay 2, 2025\nThe Kirkuk oil field resumed output on Friday after a two-week halt.\n"
SECRET = "Secret payroll\nMay 2, 2025\nThe payroll password is hunter2 and must never be indexed.\n"


def tree(root: Path) -> set[str]:
    """Every path under root (links not followed), to prove nothing was written elsewhere."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- Binding ----------------------------------------------------------------------------------


def test_default_bind_is_loopback_and_open_binds_need_login_or_open_flag(tmp_path: Path) -> None:
    assert Settings.from_env({}).host == "127.0.0.1"
    for host in ("0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.nip.io"):
        with pytest.raises(RagError, match="refusing to serve"):
            check_bind(Settings.from_env({}, host=host))
        check_bind(Settings.from_env({}, host=host, auth="ann:s3cret"))
        check_bind(Settings.from_env({}, host=host), allow_open=True)
    for host in ("127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "::1", "[::1]"):
        check_bind(Settings.from_env({}, host=host))
    # The environment variable is refused the same way, in one line, before anything is started.
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "d"), "serve"], env={"RAG_HOST": "0.0.0.0"})
    assert result.exit_code == 1 and "refusing to serve 0.0.0.0 without a login" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and not (tmp_path / "d").exists()


# --- Uploads ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../escape.txt", "escape.txt"),
        ("..\\..\\windows.txt", "windows.txt"),
        ("/etc/cron.d/job.md", "job.md"),
        ("répört <2025>|:*?.TXT", "r_p_rt_2025.txt"),
        (".bashrc.txt", "bashrc.txt"),
        ("...txt", "document.txt"),
        ("nul\x00byte.txt", "nul_byte.txt"),
        ("x" * 300 + ".html", "x" * 100 + ".html"),
    ],
)
def test_upload_names_are_sanitized_and_stored_only_in_the_documents_folder(
    tmp_path: Path, name: str, stored: str
) -> None:
    source = tmp_path / "upload.bin"
    source.write_text(ARTICLE)
    docs = tmp_path / "data" / "docs"
    before = tree(tmp_path)
    target = add_document(source, docs, Limits(), name)
    assert target == docs.resolve() / stored and target.read_text() == ARTICLE
    # Besides the file, only the folder's record of where its files came from.
    assert tree(tmp_path) - before == {"data", "data/docs", f"data/docs/{stored}", "data/docs/.sources.json"}
    assert safe_name(name) == stored


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b" \n\t\n", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin.txt", b"\x81\x8d\x8f\x90\x9d" * 20, "not UTF-8 or Windows-1252"),
        ("huge.txt", b"The port reopened. " * 200, "over the 2,000-byte limit"),
        ("controls.txt", bytes(range(1, 32)) * 20, "looks binary"),
        ("evil.txt.exe", ARTICLE.encode(), "unsupported type .exe"),
        ("noext", ARTICLE.encode(), "unsupported type (none)"),
        ("report.pdf", b"%PDF-1.4", "unsupported type .pdf"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason_and_nothing_is_stored(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(content)
    docs = tmp_path / "docs"
    with pytest.raises(BadFileError, match=re.escape(reason)) as caught:
        add_document(source, docs, Limits(article_bytes=2_000), name)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(name)
    assert not docs.exists() or not any(docs.iterdir())


def test_symlinks_are_never_uploaded_or_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(SECRET)
    docs = tmp_path / "docs"
    docs.mkdir()
    link = tmp_path / "link.txt"
    link.symlink_to(secret)
    with pytest.raises(BadFileError, match="symbolic links are not accepted"):
        add_document(link, docs, Limits())
    # A link already planted in the documents folder must not be written through by an upload.
    (docs / "planted.txt").symlink_to(outside / "victim.txt")
    source = tmp_path / "new.txt"
    source.write_text(ARTICLE)
    with pytest.raises(BadFileError, match="unsafe file name"):
        add_document(source, docs, Limits(), "planted.txt")
    assert not (outside / "victim.txt").exists() and secret.read_text() == SECRET


def test_uploads_through_the_documents_panel(settings: Settings, tmp_path: Path) -> None:
    build_index(settings, HashEmbedder())
    pipelines = Pipelines(settings)
    folder = tmp_path / "gradio-tmp"
    folder.mkdir()
    (folder / "good.txt").write_text(ARTICLE)
    (folder / "empty.md").write_bytes(b"")
    (folder / "cp1252.txt").write_bytes("Caf\xe9 owners in Basra \x93reopened\x94 on Monday.\n".encode("latin-1"))
    (folder / "utf16.txt").write_text("The Mosul dam was inspected on Monday.", encoding="utf-16")
    before = tree(tmp_path)
    message = Documents(pipelines).add([str(p) for p in sorted(folder.iterdir())])
    assert "Added cp1252.txt, good.txt" in message and "4 articles" in message
    assert "Refused empty.md: empty file" in message and "Refused utf16.txt: binary" in message
    assert {p.name for p in settings.docs_dir.iterdir() if not p.name.startswith(".")} == {"good.txt", "cp1252.txt"}
    written = {p for p in tree(tmp_path) - before}
    assert all(p.startswith("data/") for p in written)  # the index and the documents folder, nothing else
    body = Snapshot.open(settings).articles["cp1252"].body
    assert "Café owners in Basra “reopened”" in body  # Windows-1252 decoded, not mangled


@pytest.mark.slow
def test_gradio_upload_endpoint_enforces_the_size_limit_and_strips_paths(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    settings = settings.replace(max_file_bytes=2_000)
    build_index(settings, HashEmbedder())

    def upload(url: str, name: str, content: bytes) -> tuple[int, str]:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: text/plain\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            url + "/gradio_api/upload", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    with BackgroundServer(create_server(settings)) as server:
        assert upload(server.url, "big.txt", b"x" * 5_000)[0] == 413
        status, text = upload(server.url, "../../../escape.txt", ARTICLE.encode())
    assert status == 200
    [stored] = json.loads(text)
    assert Path(stored).name == "escape.txt" and Path(stored).resolve().is_relative_to(tmp_path / "gradio")
    message = Documents(Pipelines(settings)).add([stored])
    assert "Added escape.txt" in message and (settings.docs_dir / "escape.txt").read_text() == ARTICLE


# --- Folder walks -----------------------------------------------------------------------------


@pytest.fixture
def planted(tmp_path: Path, seeds_copy: Path) -> Path:
    """A seed folder with links pointing out of it (a file and a folder) and one pointing inside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (seeds_copy / "secret.txt").symlink_to(outside / "secret.txt")
    (seeds_copy / "outside-folder").symlink_to(outside, target_is_directory=True)
    (seeds_copy / "real.txt").write_text(ARTICLE)
    (seeds_copy / "alias.txt").symlink_to(seeds_copy / "real.txt")
    return seeds_copy


def test_folder_walks_do_not_follow_links_out_of_the_folder(planted: Path) -> None:
    found, skipped = find_files([planted])
    names = {p.name for p in found}
    assert "secret.txt" not in names and "real.txt" in names and "alias.txt" in names
    assert [(Path(s.path).name, s.reason) for s in skipped] == [
        ("secret.txt", "symbolic link to a file outside the folder; not followed")
    ]
    loaded = load_articles([planted], 5_000_000)
    assert not any("hunter2" in a.body for a in loaded.articles.values())


def test_indexing_a_folder_with_outside_links_skips_them(settings: Settings, planted: Path, tmp_path: Path) -> None:
    settings = settings.replace(seeds_dir=planted)
    report = build_index(settings, HashEmbedder())
    assert any(Path(s.path).name == "secret.txt" for s in report.skipped)
    snapshot = Snapshot.open(settings)
    assert not any("hunter2" in p.text for p in snapshot.passages)
    # `rag index FOLDER` copies files in; a link out of that folder is not copied either.
    added, skipped = add_paths(settings, [planted])
    assert "secret.txt" not in {p.name for p in added} and any("secret.txt" in s.path for s in skipped)
    assert not any("hunter2" in p.read_text() for p in settings.docs_dir.rglob("*") if p.is_file())


# --- No code execution of anything a user provides -------------------------------------------

FORBIDDEN = re.compile(
    r"\bimport\s+(c?[pP]ickle|dill|shelve|marshal)\b|\bfrom\s+(c?[pP]ickle|dill|shelve|marshal)\b"
    r"|\b(pickle|dill|marshal|shelve)\.\w+\("
    r"|(?<![\w.])(eval|exec|compile|__import__)\("
    r"|\byaml\.(load|unsafe_load|full_load)\(|\ballow_pickle\s*=\s*True|\btorch\.load\("
    r"|\bos\.system\(|\bshell\s*=\s*True"
)


def test_forbidden_pattern_catches_what_it_should() -> None:
    for bad in (
        "import pickle",
        "from cPickle import loads",
        "data = pickle.loads(blob)",
        "x = eval(text)",
        "exec(code)",
        "yaml.load(fh)",
        "np.load(p, allow_pickle=True)",
        "subprocess.run(cmd, shell=True)",
        "torch.load(path)",
    ):
        assert FORBIDDEN.search(bad), bad
    for fine in ("model.eval()", "yaml.safe_load(fh)", "retriever.evaluate(x)", "np.load(p)", "my_eval(x)"):
        assert not FORBIDDEN.search(fine), fine


def test_no_pickle_eval_or_exec_in_the_project() -> None:
    offenders = []
    for folder in ("rag", "index", "ui", "evals"):
        files = sorted((PROJECT_ROOT / folder).rglob("*.py"))
        assert files, folder
        for path in files:
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if FORBIDDEN.search(line.split("#", 1)[0]):
                    offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{lineno}: {line.strip()}")
    assert offenders == []
