"""Import Gradio without its type-stub writer.

Every Gradio component class, as it is defined, runs `gradio.component_meta.create_or_modify_pyi`:
it re-reads the class's source file, parses it with `ast`, renders an interface and rewrites the
`.pyi` stub beside it in site-packages (when it may) so that editors see the generated event
methods. That is for Gradio's own developers: the running app never reads a stub, and it is
nearly two thirds of `import gradio` here (5.8 s of it, 2.0 s without, on this project's 2-core
machine), which is most of the time before `rag serve` answers.

`skip_stub_writer()` installs a one-shot import hook: when `gradio.component_meta` is first
imported, the stub writer in it is replaced by a no-op before any component class is defined.
Everything else of Gradio runs as shipped. If Gradio is already imported, or a later release drops
the function, nothing changes.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

MODULE = "gradio.component_meta"
WRITER = "create_or_modify_pyi"


def no_stubs(*args: Any, **kwargs: Any) -> None:
    """Gradio's stub writer, replaced: the served app never reads the stubs."""


class _SkipStubWriter(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta as Python would, and disarms its stub writer once it has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        uninstall()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if hasattr(module, WRITER):
                setattr(module, WRITER, no_stubs)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stub_writer() -> None:
    """Arm the hook, unless Gradio's component classes are already defined (idempotent)."""
    if MODULE in sys.modules or any(isinstance(f, _SkipStubWriter) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _SkipStubWriter())


def uninstall() -> None:
    """Remove the hook (it removes itself when it fires)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _SkipStubWriter)]
