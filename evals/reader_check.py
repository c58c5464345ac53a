"""The reader on its own, with the right article given: token F1 of its best span in the paragraph
that holds the answer and whether that span alone satisfies the answer keys, and the AUC of its
best margin over the article's paragraphs for telling answerable from unanswerable questions.
Kits hold one article per file, its first line the title or headline and one paragraph per line
(SQuAD's and the news kit's layout); a question whose article the kit withheld (news
unanswerables) is left out, so on such a kit the AUC is NaN.

    python -m evals.reader_check ../shared/evalsets/squad2_dev --part tune [--model DIR]
    python -m evals.reader_check ../shared/evalsets/news_dev --part tune [--half b]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evals.kit_paragraphs import half_of
from evals.kits import load_kit
from evals.metrics import auc, key_groups_correct, token_f1
from rag.errors import RagError
from rag.reader import Context, OnnxReader


def check(kit_dir: Path, part: str, model: Path | None = None, half: str = "") -> dict[str, float]:
    """F1 and answer keys on the answer's own paragraph, and the no-answer AUC over the article's
    paragraphs (with `half`, only the questions on that half of the articles,
    `evals.kit_paragraphs.half_of`: the other half may have been trained on)."""
    kit = load_kit(kit_dir)
    reader = OnnxReader(model)
    margins, labels, f1s, keys = [], [], [], []
    for item in kit.part(part):
        name = kit.article_of[item.id]
        path = kit.articles / f"{name}.txt"
        if not name or not path.is_file():  # the kit withheld its article
            continue
        if half and half_of(name) != half:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        title, paragraphs = lines[0], [line for line in lines[1:] if line.strip()]
        readings = reader.read(item.question, [Context(title, p) for p in paragraphs])
        margins.append(max(r.margin for r in readings))
        labels.append(item.answerable)
        if item.answerable:
            own = next(i for i, p in enumerate(paragraphs) if any(e[:40] in p for e in item.evidence))
            f1s.append(token_f1(readings[own].text, item.reference))
            keys.append(key_groups_correct(readings[own].text, item.answer_keys))
    if not f1s:
        raise RagError(
            f"no answerable question with its article in {kit_dir} ({part}{', half ' + half if half else ''})"
        )
    return {
        "f1_own_paragraph": sum(f1s) / len(f1s),
        "keys_own_paragraph": sum(keys) / len(keys),
        "no_answer_auc": auc(margins, labels),
        "questions": len(labels),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kit", type=Path)
    parser.add_argument("--part", default="tune", choices=["tune", "report", "all"])
    parser.add_argument("--model", type=Path, default=None, help="a reader folder (default: the committed one)")
    parser.add_argument(
        "--half", default="", choices=["", "a", "b"], help="only questions on this half of the articles"
    )
    args = parser.parse_args(argv)
    try:
        print(check(args.kit, args.part, args.model, args.half))
    except RagError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
