"""The accuracy gate: the fast subset of the gold set, answered with the real models, must stay
above the thresholds in evals.run.THRESHOLDS (so a change that lowers accuracy fails CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.dataset import fast_subset, load_dataset
from evals.run import check_thresholds, run
from index.build import build_index
from index.embed import make_embedder
from rag.settings import Settings
from tests.conftest import SEEDS


@pytest.mark.slow
def test_fast_subset_meets_thresholds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The defaults: MiniLM, the reader, the embedded model not asked (its wording is off).
    settings = Settings.from_env(data_dir=tmp_path / "d", seeds_dir=SEEDS)
    build_index(settings, make_embedder(settings))
    results = run(settings, fast_subset(load_dataset()), ["ours"], progress=False)
    summary = results["configs"]["ours"]["summary"]
    with capsys.disabled():
        print(
            "\nfast subset: "
            + ", ".join(
                f"{k} {summary[k]:.3f}"
                for k in ("accuracy", "correct_abstention", "false_abstention", "citation_hit", "crag")
            )
        )
    assert check_thresholds(summary) == []


@pytest.mark.slow
def test_mixed_archive_subset_meets_thresholds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fixed subset of the reported (never tuned on) part of mixed_dev, on its own scratch index."""
    from evals.kits import DEFAULT_ROOT, load_kit
    from evals.run import KIT_THRESHOLDS, prepare_kit

    kit = load_kit(DEFAULT_ROOT / "mixed_dev")
    settings = prepare_kit(Settings.from_env(), kit, tmp_path)
    results = run(settings, fast_subset(kit.part("report"), 40), ["ours"], progress=False)
    summary = results["configs"]["ours"]["summary"]
    with capsys.disabled():
        print(
            "\nmixed_dev report subset: "
            + ", ".join(
                f"{k} {summary[k]:.3f}" for k in ("accuracy", "correct_abstention", "false_abstention", "short_f1")
            )
        )
    assert check_thresholds(summary, KIT_THRESHOLDS) == []
