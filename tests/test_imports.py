"""index.imports.without: a library imported without an optional dependency, or with a stand-in
for a module it imports unconditionally, on a package written here."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.imports import without


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    root = tmp_path / "shelf"
    (root / "shelflib" / "cli").mkdir(parents=True)
    (root / "shelflib" / "__init__.py").write_text(
        "try:\n    import shelfheavy\n    HEAVY = True\nexcept ImportError:\n    HEAVY = False\n"
        "from .cli.info import info\n"
    )
    (root / "shelflib" / "cli" / "__init__.py").write_text("import shelfheavy\nCOMMANDS = ['download']\n")
    (root / "shelflib" / "cli" / "info.py").write_text("def info():\n    return 'real'\n")
    (root / "shelfheavy.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(root))
    yield "shelflib"
    for name in [m for m in sys.modules if m.startswith(("shelflib", "shelfheavy"))]:
        del sys.modules[name]


def test_a_blocked_module_is_absent_only_while_the_library_imports(library: str) -> None:
    with without("shelfheavy", stand_ins={"shelflib.cli": {}, "shelflib.cli.info": {"info": lambda: "stand-in"}}):
        lib = importlib.import_module(library)
    assert lib.HEAVY is False and lib.info() == "stand-in"
    assert "shelfheavy" not in sys.modules and "shelflib.cli" not in sys.modules
    # Afterwards both import for real, for whoever needs them.
    assert importlib.import_module("shelfheavy").LOADED is True
    cli = importlib.import_module("shelflib.cli")
    assert cli.COMMANDS == ["download"] and importlib.import_module("shelflib.cli.info").info() == "real"


def test_an_already_imported_module_is_neither_blocked_nor_replaced(library: str) -> None:
    importlib.import_module("shelfheavy")
    real_cli = importlib.import_module("shelflib.cli")
    with without("shelfheavy", stand_ins={"shelflib.cli": {}}):
        assert sys.modules["shelfheavy"] is not None and sys.modules["shelflib.cli"] is real_cli
    assert sys.modules["shelflib.cli"] is real_cli


def test_spacy_loads_for_the_question_without_its_command_line() -> None:
    import subprocess

    probe = (
        "import sys\nfrom index.nlp import parse\nd = parse('Who won the 1998 World Cup in Paris?')\n"
        "print(any(e.label_ == 'GPE' for e in d.ents), *(m in sys.modules for m in ('spacy.cli', 'typer', 'weasel')))"
    )
    root = Path(__file__).parents[1]
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "False", "False", "False"]
