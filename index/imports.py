"""Importing a library without an optional dependency it would import but the product never uses."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Mapping

# Held while a module is blocked, and by code that imports a module some `without` may block
# (the torch embedder): another thread never finds torch "absent" because spaCy is loading.
IMPORTS = threading.RLock()


class without:
    """While a library is first imported, and only for modules nothing in the process has imported
    yet, `import <module>` fails as if the module were absent; afterwards it imports normally for
    whoever needs it. For optional imports that cost every cold start: thinc (spaCy's layer
    library) imports torch, about 2 s, though the small CPU pipeline never calls it; bm25s imports
    scipy.sparse, about 0.3 s, though its numpy backend builds and searches the same index, and
    tqdm.auto, which imports asyncio (about 0.1 s), for progress bars the product never shows.

    A module the library imports unconditionally cannot be absent: `stand_ins` names such modules
    with the attributes the library takes from them, and an empty module with those attributes
    stands in for each while the library is imported (spaCy's `__init__` imports its command line,
    `spacy.cli`, which pulls in typer, weasel and requests: about 0.3 s of every question process,
    for commands the product never runs). Afterwards the real module imports normally."""

    def __init__(
        self,
        *modules: str,
        unless_imported: str = "",
        stand_ins: Mapping[str, Mapping[str, object]] | None = None,
    ) -> None:
        self.modules = modules
        # The library itself already imported: it made its choice then, block nothing.
        self.unless_imported = unless_imported
        self.stand_ins = dict(stand_ins or {})
        self.blocked: list[str] = []
        self.standing: dict[str, types.ModuleType] = {}

    def __enter__(self) -> None:
        IMPORTS.acquire()
        if self.unless_imported and self.unless_imported in sys.modules:
            return
        self.blocked = [m for m in self.modules if m not in sys.modules]
        for m in self.blocked:
            sys.modules[m] = None  # type: ignore[assignment]
        for name, attrs in self.stand_ins.items():
            if name not in sys.modules:
                module = types.ModuleType(name, "a stand-in while a library is imported (index.imports)")
                module.__dict__.update(attrs)
                sys.modules[name] = self.standing[name] = module

    def __exit__(self, *exc: object) -> None:
        try:
            for m in self.blocked:
                if sys.modules.get(m, 1) is None:
                    del sys.modules[m]
            for name, module in self.standing.items():
                if sys.modules.get(name) is module:
                    del sys.modules[name]
        finally:
            self.blocked = []
            self.standing = {}
            IMPORTS.release()
