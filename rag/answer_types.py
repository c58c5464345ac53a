"""What kind of name a "which X" question asks for, learned from data: "Which country ..." wants
a GPE, "Which company ..." an ORG, "Which singer ..." a PERSON, "Which item ..." nothing spaCy
names. A multinomial logistic regression over the MiniLM embedding of the head noun X, fitted on
the SQuAD 2.0 training questions and the kits' tuning parts by `evals/fit_answer_types.py` (the
label of each answer is spaCy's entity label where the answer is one); nouns it never saw get
the class of the nouns they are near in meaning. Parameters: `rag/models/answer_types.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from index.embed import Embedder
from rag.query import Query

# The classes the model tells apart, as spaCy labels (OntoNotes); "none": not a name spaCy types.
CLASSES: dict[str, frozenset[str]] = {
    "person": frozenset({"PERSON"}),
    "organization": frozenset({"ORG"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
    "group": frozenset({"NORP"}),
    "date": frozenset({"DATE", "TIME"}),
    "number": frozenset({"CARDINAL", "PERCENT", "MONEY", "QUANTITY", "ORDINAL"}),
    "titled": frozenset({"EVENT", "LAW", "WORK_OF_ART", "PRODUCT", "LANGUAGE"}),
    "none": frozenset(),
}
EMBEDDER_FAMILY = "MiniLM-L6-v2"  # the vectors it was fitted on (torch or int8: the same model)


def class_of(labels: set[str] | frozenset[str]) -> str:
    """The class of an answer with these spaCy labels (its first typed one; "none" if untyped)."""
    for name, members in CLASSES.items():
        if labels & members:
            return name
    return "none"


@dataclass(frozen=True)
class AnswerTypes:
    """The fitted model: class scores = coef @ vector + intercept."""

    classes: tuple[str, ...]
    coef: np.ndarray  # (classes, dim)
    intercept: np.ndarray  # (classes,)
    note: str = ""

    def classify(self, vector: np.ndarray) -> tuple[str, float]:
        """The most likely class of a head noun's vector and its probability."""
        z = self.coef @ vector + self.intercept
        p = np.exp(z - z.max())
        p /= p.sum()
        i = int(p.argmax())
        return self.classes[i], float(p[i])

    def to_json(self) -> dict[str, object]:
        return {
            "classes": list(self.classes),
            "embedder": EMBEDDER_FAMILY,
            "coef": [[round(float(x), 6) for x in row] for row in self.coef],
            "intercept": [round(float(x), 6) for x in self.intercept],
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict) -> AnswerTypes:
        return cls(
            tuple(data["classes"]),
            np.asarray(data["coef"], dtype=np.float32),
            np.asarray(data["intercept"], dtype=np.float32),
            str(data.get("note", "")),
        )


def model_path() -> Path:
    """The committed parameters."""
    return Path(str(resources.files("rag").joinpath("models", "answer_types.json")))


@cache
def load_answer_types(path: Path | None = None) -> AnswerTypes | None:
    """The fitted model (None until one is fitted)."""
    path = path or model_path()
    if not path.is_file():
        return None
    return AnswerTypes.from_json(json.loads(path.read_text(encoding="utf-8")))


def typed(query: Query, embedder: Embedder, model: AnswerTypes | None = None) -> Query:
    """The query with the labels its head noun asks for ("which country": GPE, LOC, FAC). Only a
    "which/what X" question of no other type is typed, and only with embeddings of the model the
    classifier was fitted on."""
    model = model or load_answer_types()
    if model is None or not query.head or query.answer_type != "thing" or EMBEDDER_FAMILY not in embedder.name:
        return query
    name, _ = model.classify(embedder.embed([query.head])[0])
    return replace(query, wanted=CLASSES.get(name, frozenset()))
