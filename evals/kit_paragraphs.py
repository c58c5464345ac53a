"""The passages of a kit's tuning articles as a SQuAD-format file without questions, for
`evals/synth_questions.py` to make reader-training questions from news text.

Each article is parsed and cut into passages as the product does (`index.parse`,
`index.chunk`, the default 600-character passages, no overlap), so the reader trains on the
contexts it reads at question time; the headline is the title. Only articles of the chosen part
are used (`evals.kits.part_of`: never the reported part), and `--half a|b` keeps one half of
them (by another byte of the same hash), so the other half's questions still measure the reader
on articles whose text it never saw.

    python -m evals.kit_paragraphs ../shared/evalsets/news_dev build/news-tune-a.json --half a
    python -m evals.synth_questions build/news-tune-a.json build/synth-news-a.json

The output holds the kit's article text: it stays in build/, never in the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from evals.kits import part_of
from index.chunk import chunk_article
from index.parse import parse_text
from rag.settings import Settings


def half_of(stem: str) -> str:
    """'a' or 'b' for an article name: fixed by the second byte of its SHA-256 (the first is the part)."""
    return "b" if hashlib.sha256(stem.encode()).digest()[1] % 2 else "a"


def build(kit: Path, part: str = "tune", half: str = "") -> dict[str, Any]:
    """SQuAD-format {data: [{title, paragraphs: [{context, qas: []}]}]} of the chosen articles."""
    if part != "tune":
        raise ValueError(f"only the tuning part is trained on, not {part!r}")
    settings = Settings()
    articles, names = [], []
    for path in sorted((kit / "articles").glob("*.txt")):
        if part_of(path.stem) != part or (half and half_of(path.stem) != half):
            continue
        article = parse_text(path.read_text(encoding="utf-8", errors="replace"), path.stem)
        passages = chunk_article(article, settings.chunk_size, 0)
        paragraphs = [{"context": p.text, "qas": []} for p in passages if len(p.text.split()) >= 20]
        if paragraphs:
            articles.append({"title": article.title if article.headline else "", "paragraphs": paragraphs})
            names.append(path.stem)
    return {
        "version": "kit-paragraphs",
        "note": f"passages of {len(names)} {part}-part articles of {kit.name}"
        + (f" (half {half})" if half else "")
        + " (evals/kit_paragraphs.py)",
        "articles": names,
        "data": articles,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kit", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--part", default="tune", choices=["tune"])
    parser.add_argument("--half", default="", choices=["", "a", "b"])
    args = parser.parse_args(argv)
    data = build(args.kit, args.part, args.half)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    print(f"{args.out}: {data['note']}, {sum(len(a['paragraphs']) for a in data['data'])} passages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
