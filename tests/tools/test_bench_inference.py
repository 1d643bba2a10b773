"""The inference benchmark runs end to end on the tiny config and reports consistent numbers.

No timing is asserted: only that every row was measured and that every derived number (ratio,
head cost, target verdict, throughput) is what the rows' medians say.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))  # the bench imports inference_report beside it
spec = importlib.util.spec_from_file_location(
    "bench_inference", REPO_ROOT / "tools" / "bench_inference.py"
)
assert spec is not None and spec.loader is not None
bench_inference = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench_inference  # its dataclasses look their module up by name
spec.loader.exec_module(bench_inference)
inference_report = sys.modules["inference_report"]  # imported by the bench, from tools/

HEADS = ["cars", "depth"]
ROUNDS = 2


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench_inference")
    bench_inference.main(
        [
            "--config", str(REPO_ROOT / "configs" / "tiny.yaml"),
            "--heads", *HEADS,
            "--larger", "model.backbone_options={width: 16}",
            "--rounds", str(ROUNDS),
            "--warmup", "1",
            "--threads", "1",
            "--out-dir", str(out),
        ]
    )  # fmt: skip
    report = json.loads((out / "inference.json").read_text())
    return report, (out / "inference.md").read_text()


def expected_rows() -> set[str]:
    rows = {f"engines/base/{engine}/predict" for engine in ("torch-cpu", "ort-cpu")}
    for batch in (1, 8):
        for model in ("base", "larger"):
            rows |= {f"engines/{model}/{engine}/b{batch}" for engine in ("torch-cpu", "ort-cpu")}
        rows |= {f"sharing/{kind}/b{batch}" for kind in ("merged", "single", "separate")}
    rows.add("heads/merged/b1")
    for head in HEADS:
        rows |= {f"heads/without-{head}/b1", f"heads/only-{head}/b1"}
    return rows


def test_every_row_is_measured(bench: tuple[dict[str, Any], str]) -> None:
    report, _ = bench
    rows = report["rows"]
    cpu_rows = {key for key, row in rows.items() if row["group"] != "gpu"}
    assert cpu_rows == expected_rows()
    assert report["gpu"]["available"] == any(row["group"] == "gpu" for row in rows.values())
    for key, row in rows.items():
        assert row["samples"] == ROUNDS, key
        assert 0 < row["median_ms"] <= row["p90_ms"], key
        assert row["images_per_s"] == pytest.approx(row["batch"] * 1000 / row["median_ms"]), key
    assert rows["sharing/single/b1"]["heads"] == ["cars"]
    assert rows["heads/without-cars/b1"]["heads"] == ["depth"]
    assert rows["engines/base/ort-cpu/b8"]["engine"] == "CPUExecutionProvider"
    assert report["models"]["larger"]["backbone_options"] == {"width": 16}
    assert report["models"]["base"]["heads"] == HEADS
    assert report["not_measured"] == []


def test_ratios_and_head_costs_are_ratios_of_the_medians(
    bench: tuple[dict[str, Any], str],
) -> None:
    report, _ = bench
    rows, ratios = report["rows"], report["ratios"]
    for batch in (1, 8):
        assert ratios[f"ort_speedup/base/b{batch}"]["numerator"] == (
            f"engines/base/torch-cpu/b{batch}"
        )
        assert ratios[f"separate_vs_merged/b{batch}"]["denominator"] == f"sharing/merged/b{batch}"
    assert {"ort_speedup/larger/b1", "ort_speedup/base/predict", "merged_vs_single/b8"} <= set(
        ratios
    )
    for name, ratio in ratios.items():
        expected = rows[ratio["numerator"]]["median_ms"] / rows[ratio["denominator"]]["median_ms"]
        assert ratio["value"] == pytest.approx(expected), name
    merged = rows["heads/merged/b1"]["median_ms"]
    assert [cost["head"] for cost in report["head_costs"]] == HEADS
    for cost in report["head_costs"]:
        added = merged - rows[cost["without"]]["median_ms"]
        assert cost["added_ms"] == pytest.approx(added)
        assert cost["added_percent"] == pytest.approx(100 * added / merged)
    for target in report["targets"]:
        assert target["measured"] == ratios[target["ratio"]]["value"]
        above = target["measured"] >= target["threshold"]
        below = target["measured"] <= target["threshold"]
        assert target["passed"] == (above if target["comparison"] == ">=" else below)
    assert [target["ratio"] for target in report["targets"]] == [
        "ort_speedup/base/b1",
        "merged_vs_single/b1",
        "merged_vs_single/b8",
        "separate_vs_merged/b1",
        "separate_vs_merged/b8",
    ]


def test_markdown_has_the_tables_and_the_targets(bench: tuple[dict[str, Any], str]) -> None:
    report, text = bench
    assert text.startswith("# Inference speed\n")
    assert report["machine"]["onnxruntime"] in text
    for heading in (
        "## Targets",
        "## Torch eager against ONNX Runtime (CPU)",
        "## What sharing buys",
        "## What each head costs",
        "## GPU",
    ):
        assert heading in text
    assert text.count("|---|") >= 3
    for target in report["targets"]:
        verdict = "PASS" if target["passed"] else "MISS"
        assert f"- {verdict}: {target['target']}: measured {target['measured']:.2f}x" in text
    for head in HEADS:
        assert f"| {head} |" in text
    if not report["gpu"]["available"]:
        assert "No GPU was available on the machine that ran this" in text


def test_fewer_than_two_heads_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        bench_inference.main(["--heads", "cars", "--out-dir", str(tmp_path)])
    assert not (tmp_path / "inference.json").exists()


def test_the_committed_page_is_written_from_the_committed_json() -> None:
    committed = REPO_ROOT / "benchmarks"
    report = json.loads((committed / "inference.json").read_text())
    assert inference_report.markdown(report) == (committed / "inference.md").read_text()
