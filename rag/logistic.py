"""A standardized logistic regression read from a committed JSON file: the shape of every small
model the pipeline decides with (abstention, which span to show). Fitted by `evals/fit_abstain.py`
with scikit-learn; applied here with plain arithmetic, so answering needs no scikit-learn."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Logistic:
    """P(yes) from named features: standardize, weigh, squash; decide at one threshold."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    note: str = ""

    def probability(self, values: dict[str, float]) -> float:
        """P(yes) for one row of feature values (every feature must be present)."""
        z = self.intercept + sum(
            c * (values[f] - m) / (s or 1.0) for f, m, s, c in zip(self.features, self.mean, self.scale, self.coef)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, object]:
        """The committed parameter file."""
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict) -> Logistic:
        """Read a parameter file's contents."""
        return cls(
            tuple(data["features"]),
            tuple(float(x) for x in data["mean"]),
            tuple(float(x) for x in data["scale"]),
            tuple(float(x) for x in data["coef"]),
            float(data["intercept"]),
            float(data["threshold"]),
            str(data.get("note", "")),
        )

    @classmethod
    def load(cls, path: Path, fallback: Logistic) -> Logistic:
        """The fitted model at `path`, or `fallback` until one is fitted."""
        if not path.is_file():
            return fallback
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def neutral(cls, features: tuple[str, ...], feature: str, threshold: float = 0.5) -> Logistic:
        """An unfitted model that follows one feature alone (P = sigmoid(feature))."""
        n = len(features)
        coef = tuple(1.0 if f == feature else 0.0 for f in features)
        return cls(features, (0.0,) * n, (1.0,) * n, coef, 0.0, threshold, "unfitted")
