"""Gradio imported without its type-stub writer (ui/gradio_stubs.py), and the page still built whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rag.settings import PROJECT_ROOT, Settings

PROBE = """
import sys
{first}
import gradio as gr
from gradio import blocks_events, component_meta
with gr.Blocks() as blocks:
    box = gr.Textbox(label="q")
    out = gr.Textbox()
    box.submit(lambda q: q.upper(), box, out)
kinds = sorted(c["type"] for c in blocks.get_config_file()["components"])
hooks = sum(type(f).__name__ == "_SkipStubWriter" for f in sys.meta_path)
writers = set([component_meta.create_or_modify_pyi.__module__, blocks_events.create_or_modify_pyi.__module__])
print("+".join(sorted(writers)), ",".join(kinds), blocks.fns[0].fn("ab"), hooks)
"""


def probe(first: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(first=first)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=True,
    )
    return done.stdout.split()


def test_importing_ui_first_disarms_the_stub_writer_and_components_still_work() -> None:
    writer, kinds, result, hooks = probe("import ui")
    assert writer == "ui.gradio_stubs" and hooks == "0"  # the hook removed itself once used
    assert kinds == "form,textbox,textbox" and result == "AB"


def test_without_ui_gradio_keeps_its_own_writer() -> None:
    # The hook is what changes it: plain `import gradio` is Gradio as shipped.
    writer, kinds, result, _ = probe("")
    assert writer == "gradio.component_meta"
    assert kinds == "form,textbox,textbox" and result == "AB"


def test_the_hook_is_idempotent_and_leaves_an_imported_gradio_alone() -> None:
    writer, _, _, hooks = probe(
        "import gradio\nimport ui\nfrom ui.gradio_stubs import skip_stub_writer\nskip_stub_writer()"
    )
    assert writer == "gradio.component_meta" and hooks == "0"


def test_every_page_event_runs_up_to_the_concurrency_limit(tmp_path: Path) -> None:
    # blocks.queue(default_concurrency_limit=...) is not called (it rebuilds the route table), so
    # each event carries the limit itself; a Gradio default of 1 would serialise all chats.
    from ui.app import CONCURRENCY, create_app

    settings = Settings.from_env({}, data_dir=tmp_path / "data", embedder="fake", llm="fake")
    blocks = create_app(settings)
    python_events = [fn for fn in blocks.fns.values() if fn.fn is not None]
    assert len(python_events) >= 10
    assert {fn.concurrency_limit for fn in python_events} == {CONCURRENCY}
