"""Files written whole or not at all: beside the target under a hidden temporary name of its own,
then renamed over it. Used for documents copied in, their registry and derived models."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def replace_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Have `write` fill a temporary file beside the target (two writers of one name never share
    it; a folder scan skips hidden names), then rename it over the target: never a half-written
    file. If `write` raises, the target is left as it was and the temporary file is removed."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
