"""The lab's Delta_p follows LibMTL's definition (signed mean relative gain over single tasks)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("bench_mtl", REPO_ROOT / "tools" / "bench_mtl.py")
assert spec is not None and spec.loader is not None
bench_mtl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_mtl)

DIRECTIONS = {"cars": {"AP": "higher", "AP50": "higher"}, "depth": {"abs_rel": "lower"}}


def run(cars_ap: float, cars_ap50: float, abs_rel: float) -> dict:
    return {
        "metrics": {"cars": {"AP": cars_ap, "AP50": cars_ap50}, "depth": {"abs_rel": abs_rel}},
        "directions": DIRECTIONS,
    }


def test_delta_p_signs_lower_is_better_metrics() -> None:
    singles = {"cars": run(0.2, 0.5, 0.2), "depth": run(0.2, 0.5, 0.2)}
    # cars: AP +50 %, AP50 -10 % -> +20 %; depth: abs_rel 0.2 -> 0.1 is a 50 % gain.
    assert bench_mtl.delta_p(run(0.3, 0.45, 0.1), singles) == pytest.approx((20.0 + 50.0) / 2)
    assert bench_mtl.delta_p(run(0.2, 0.5, 0.2), singles) == pytest.approx(0.0)


def test_delta_p_leaves_out_metrics_with_a_zero_baseline() -> None:
    singles = {"cars": run(0.0, 0.5, 0.2), "depth": run(0.0, 0.0, 0.4)}
    # cars: only AP50 counts (+20 %); depth: abs_rel 0.4 -> 0.5 is -25 %.
    assert bench_mtl.delta_p(run(0.1, 0.6, 0.5), singles) == pytest.approx((20.0 - 25.0) / 2)
    nothing = {"cars": run(0.0, 0.0, 0.0), "depth": run(0.0, 0.0, 0.0)}
    assert math.isnan(bench_mtl.delta_p(run(0.1, 0.6, 0.5), nothing))


def test_the_committed_page_is_the_committed_runs_rescored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--from-json`` rescores saved runs without training; on the committed mtl.json it must
    give back the committed mtl.md (a changed Delta_p rule needs the page regenerated)."""
    committed = REPO_ROOT / "benchmarks"
    argv = ["bench_mtl.py", "--from-json", str(committed / "mtl.json"), "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    bench_mtl.main()
    capsys.readouterr()
    assert (tmp_path / "mtl.md").read_text() == (committed / "mtl.md").read_text()
    rescored = json.loads((tmp_path / "mtl.json").read_text())["runs"]
    single_stop = rescored["single/stop_signs"]["metrics"]["stop_signs"]["AP50"]
    assert single_stop < bench_mtl.MIN_REFERENCE, "the fixture this test relies on"
    equal = rescored["hard/equal"]
    without_stop_signs = bench_mtl.delta_p(
        {**equal, "metrics": {k: v for k, v in equal["metrics"].items() if k != "stop_signs"}},
        {head: rescored[f"single/{head}"] for head in equal["metrics"]},
    )
    assert equal["delta_p"] == pytest.approx(without_stop_signs)
