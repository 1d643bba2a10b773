"""The lab's Delta_p follows LibMTL's definition (signed mean relative gain over single tasks)."""

from __future__ import annotations

import importlib.util
import math

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
