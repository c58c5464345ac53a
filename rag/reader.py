"""The extractive reader: which span of a passage answers the question, and how sure it is that
none does. A MiniLM-L6 fine-tuned on SQuAD 2.0 (`evals/train_reader.py`), run as an int8 ONNX file
by onnxruntime with the `tokenizers` library: no torch on the question path.

The reader sees "question [SEP] headline.\\npassage" exactly as it was trained, scores every span
of up to MAX_SPAN_TOKENS tokens, and reports its best span with the no-answer score ([CLS]).
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.parallel import cores, map_on_threads
from rag.errors import RagError

MAX_SPAN_TOKENS = 24
TOP_STARTS = 20  # best start and end positions combined into candidate spans
ALTERNATIVES = 2  # next-best spans kept beside the best one of each passage
PROPOSALS = 2  # names of the type asked for (Context.candidates) kept per passage, scored by the reader
MAX_QUESTION_TOKENS = 64
_WORD_CHAR = re.compile(r"[\w'’%$€£.,-]")


@dataclass(frozen=True)
class Context:
    """One text the reader reads: the headline (may be empty) and the passage."""

    headline: str
    text: str
    # Spans (offsets in `joined`) to score besides the reader's own best ones: the names of the
    # type the question asks for ("which country": the places the headline and passage name).
    candidates: tuple[tuple[int, int], ...] = ()

    @property
    def joined(self) -> str:
        """The string the reader sees (as in training: headline line, then the text)."""
        head = self.headline.strip()
        return f"{head}.\n{self.text}" if head else self.text

    @property
    def offset(self) -> int:
        """Where the passage starts in `joined`."""
        head = self.headline.strip()
        return len(head) + 2 if head else 0


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on one context."""

    start: int  # offsets of the best span in Context.joined
    end: int
    text: str
    score: float  # start + end logit of the best span
    null: float  # start + end logit of [CLS]: "no answer here"
    prob: float  # the best span's probability (start x end softmax, [CLS] included)
    null_prob: float  # the [CLS] start x end probability
    alternatives: tuple[Reading, ...] = ()  # the next best spans of the same window, not overlapping it
    proposed: bool = False  # a candidate name the reader scored, not one of its own best spans

    @property
    def margin(self) -> float:
        """How much the best span beats "no answer" (logit units); > 0 means it prefers the span."""
        return self.score - self.null


class Reader(Protocol):
    """Anything that reads contexts for a question."""

    def read(self, question: str, contexts: list[Context]) -> list[Reading]:
        """One Reading per context, in order."""
        ...


def default_model_dir() -> Path:
    """The committed reader (rag/models/reader)."""
    return Path(str(resources.files("rag").joinpath("models", "reader")))


class OnnxReader:
    """The committed int8 reader, loaded on first use.

    Each window is read in a run of its own, up to `threads` runs side by side (one thread each,
    `index.parallel`; default: the process's cores): dynamic int8
    quantization scales a layer's activations over everything in one run, so a window read in a
    padded batch got other scores than read alone, depending on which passages it was read with;
    alone, its reading depends on the question and that window only. On two cores it is also
    faster than one two-thread run over the padded batch (128 against 142 ms p50, five
    600-character passages).
    """

    def __init__(self, model_dir: Path | None = None, threads: int = 0) -> None:
        self.model_dir = model_dir or default_model_dir()
        self._threads = threads or cores()
        self._session: Any = None
        self._tokenizer: Any = None
        self._max_len = 192
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            onnx = self.model_dir / "reader.onnx"
            if not onnx.is_file():
                raise RagError(f"the reader model is missing ({onnx}); reinstall the package")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            self._tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
            record = self.model_dir / "training.json"
            if record.is_file():
                self._max_len = int(json.loads(record.read_text())["hyper"]["max_len"])
            self._session = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])

    def read(self, question: str, contexts: list[Context]) -> list[Reading]:
        """Read every context (longer ones in overlapping windows, the best window kept)."""
        if not contexts:
            return []
        self._load()
        tok = self._tokenizer
        q_ids = tok.encode(question, add_special_tokens=False).ids[:MAX_QUESTION_TOKENS]
        room = self._max_len - len(q_ids) - 3
        rows: list[tuple[int, list[int], list[tuple[int, int]]]] = []  # (context index, ids, offsets)
        for i, ctx in enumerate(contexts):
            enc = tok.encode(ctx.joined, add_special_tokens=False)
            ids, offsets = enc.ids, enc.offsets
            step = max(1, room // 2)
            lo = 0
            while True:
                rows.append((i, ids[lo : lo + room], offsets[lo : lo + room]))
                if lo + room >= len(ids):
                    break
                lo += step
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")

        def run(row: tuple[int, list[int], list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
            ids = np.asarray([[cls, *q_ids, sep, *row[1], sep]], dtype=np.int64)
            types = np.zeros_like(ids)
            types[0, len(q_ids) + 2 :] = 1
            start, end = self._session.run(
                None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": types}
            )
            return start[0], end[0]

        logits = map_on_threads(run, rows, self._threads)
        best: dict[int, Reading] = {}
        for (i, ids, offsets), (start, end) in zip(rows, logits):
            ctx = contexts[i]
            reading = _decode(start, end, len(q_ids) + 2, len(ids), offsets, ctx.joined, ctx.candidates)
            if i not in best or reading.margin > best[i].margin:
                best[i] = reading
        return [best[i] for i in range(len(contexts))]


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _decode(
    start: np.ndarray,
    end: np.ndarray,
    first: int,
    n: int,
    offsets: list[tuple[int, int]],
    text: str,
    candidates: tuple[tuple[int, int], ...] = (),
) -> Reading:
    """The best span of one window (token positions first..first+n-1 are the context), its
    next-best ones, then the best-scored candidates that overlap none of them."""
    valid = np.zeros(len(start), dtype=bool)
    valid[0] = True
    valid[first : first + n] = True
    s_log = np.where(valid, start, -1e4)
    e_log = np.where(valid, end, -1e4)
    ps, pe = _softmax(s_log), _softmax(e_log)
    null = float(start[0] + end[0])
    starts = [int(i) for i in np.argsort(-s_log[first : first + n])[:TOP_STARTS] + first]
    ends = [int(i) for i in np.argsort(-e_log[first : first + n])[:TOP_STARTS] + first]
    # A span never runs from the headline into the text, nor across a paragraph break.
    breaks = [i for i, ch in enumerate(text) if ch == "\n"]
    line = [bisect.bisect_left(breaks, offsets[t][0]) for t in range(n)]
    found: list[tuple[float, int, int]] = []
    for s in starts:
        for e in ends:
            if s <= e < s + MAX_SPAN_TOKENS and line[s - first] == line[e - first]:
                found.append((float(start[s] + end[e]), s, e))
    found.sort(reverse=True)
    spans: list[Reading] = []
    taken: list[tuple[int, int]] = []
    for score, s, e in found:
        c0, c1 = widen(text, offsets[s - first][0], offsets[e - first][1])
        if any(c0 < b and a < c1 for a, b in taken):
            continue  # overlaps a better span (as whole words): the same answer, cut differently
        taken.append((c0, c1))
        spans.append(Reading(c0, c1, text[c0:c1], score, null, float(ps[s] * pe[e]), float(ps[0] * pe[0])))
        if len(spans) > ALTERNATIVES:
            break
    if not spans:
        return Reading(0, 0, "", -1e4, null, 0.0, float(ps[0] * pe[0]))
    proposed: list[Reading] = []
    for c0, c1 in candidates:
        # The candidate's first and last tokens in this window (it must lie wholly inside it).
        inside = [t for t in range(n) if c0 <= offsets[t][0] and offsets[t][1] <= c1 and offsets[t][1] > offsets[t][0]]
        if not inside or offsets[inside[0]][0] != c0 or offsets[inside[-1]][1] != c1:
            continue
        s, e = inside[0] + first, inside[-1] + first
        if e - s >= MAX_SPAN_TOKENS or line[s - first] != line[e - first] or any(c0 < b and a < c1 for a, b in taken):
            continue
        score = float(start[s] + end[e])
        proposed.append(Reading(c0, c1, text[c0:c1], score, null, float(ps[s] * pe[e]), float(ps[0] * pe[0]), (), True))
    proposed = sorted(proposed, key=lambda r: -r.score)[:PROPOSALS]
    return replace(spans[0], alternatives=tuple(spans[1:]) + tuple(proposed))


_THOUSANDS = re.compile(r",\d{3}(?!\d)")


def widen(text: str, start: int, end: int) -> tuple[int, int]:
    """A span grown to whole words (word pieces never cut a word) and whole numbers ("1,450" and
    "2.5", whose separators are pieces of their own), trailing punctuation dropped."""

    def in_number(i: int) -> bool:  # text[i] separates a number's digits: "2.5", "1,450" (not "3,4 and 5")
        if not (0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()):
            return False
        return text[i] == "." or (text[i] == "," and _THOUSANDS.match(text, i) is not None)

    while start > 0 and ((_WORD_CHAR.match(text[start - 1]) and text[start - 1] not in ".,") or in_number(start - 1)):
        start -= 1
    while end < len(text) and ((_WORD_CHAR.match(text[end]) and text[end] not in ".,") or in_number(end)):
        end += 1
    while end > start and text[end - 1] in ".,;:’'\"-":
        end -= 1
    return start, end
