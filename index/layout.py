"""Where an index lives on disk: immutable generations and one CURRENT pointer.

A build writes a new `gen-NNNNNN/` folder and only then points CURRENT at it (an atomic
rename), so an interrupted build leaves the previous generation served and intact.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.records import OLD_PASSAGES_FILE, upgrade_records
from rag.errors import IndexCorruptError, IndexMissingError

MANIFEST_VERSION = 2  # 2: passage records as columns (passages.json)
_GEN = re.compile(r"^gen-(\d{6})$")


@dataclass(frozen=True)
class Layout:
    """Paths inside the data directory."""

    root: Path

    @property
    def current_file(self) -> Path:
        """The pointer to the served generation."""
        return self.root / "CURRENT"

    @property
    def lock_file(self) -> Path:
        """Held by the one build that may run at a time."""
        return self.root / ".build.lock"

    def generations(self) -> list[Path]:
        """Every generation folder, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and _GEN.match(p.name))

    def current(self) -> Path | None:
        """The served generation folder, or None when no build ever completed."""
        try:
            name = self.current_file.read_text().strip()
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, OSError):
            raise IndexCorruptError(f"{self.current_file} is damaged; rebuild with `rag index --rebuild`") from None
        if not _GEN.match(name):
            raise IndexCorruptError(f"{self.current_file} is damaged; rebuild with `rag index --rebuild`")
        return self.root / name

    def require_current(self) -> Path:
        """The served generation, or a clear error saying how to build one."""
        gen = self.current()
        if gen is None:
            raise IndexMissingError(f"no index in {self.root} yet; build it with `rag index`")
        if not (gen / "manifest.json").is_file():
            raise IndexCorruptError(
                f"index generation {gen} is incomplete or deleted; rebuild with `rag index --rebuild`"
            )
        return gen

    def next_generation(self) -> Path:
        """A generation name never used before in this folder (a counter file survives deletions,
        so a reader holding an old generation open never sees its name reused)."""
        counter = self.root / ".generation"
        numbers = [int(_GEN.match(p.name).group(1)) for p in self.generations()]  # type: ignore[union-attr]
        try:
            numbers.append(int(counter.read_text()))
        except (OSError, ValueError):
            pass
        number = max(numbers, default=0) + 1
        counter.write_text(str(number))
        return self.root / f"gen-{number:06d}"

    def publish(self, gen: Path) -> None:
        """Atomically make gen the served generation."""
        tmp = self.root / "CURRENT.tmp"
        with open(tmp, "w") as fh:
            fh.write(gen.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.current_file)
        _fsync_dir(self.root)


def read_manifest(gen: Path) -> dict[str, Any]:
    """The manifest of a generation, checked for the fields we rely on."""
    try:
        data = json.loads((gen / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"cannot read {gen / 'manifest.json'} ({exc}); rebuild with `rag index --rebuild`"
        ) from None
    if isinstance(data, dict) and data.get("version") == 1 and (gen / OLD_PASSAGES_FILE).is_file():
        data = _upgrade(gen, data)
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION or "articles" not in data:
        raise IndexCorruptError(
            f"{gen / 'manifest.json'} is from another version or damaged; rebuild with `rag index --rebuild`"
        )
    return data


def _upgrade(gen: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """A format-1 generation brought to format 2 in place: passage records as columns, then the
    manifest (renamed into place last, so an interrupted upgrade is redone on the next read)."""
    manifest = {**manifest, "version": MANIFEST_VERSION}
    try:
        upgrade_records(gen)
        tmp = gen / f".manifest.json.{os.getpid()}.tmp"
        write_json(tmp, manifest)
        os.replace(tmp, gen / "manifest.json")
        (gen / OLD_PASSAGES_FILE).unlink(missing_ok=True)
    except OSError as exc:
        raise IndexCorruptError(
            f"{gen} is in an older index format and cannot be upgraded ({type(exc).__name__}); "
            "rebuild with `rag index --rebuild`"
        ) from None
    return manifest


def write_json(path: Path, data: Any) -> None:
    """Write JSON and fsync it, so a published generation is really on disk."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
