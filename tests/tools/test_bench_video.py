"""The video benchmark runs end to end on a small clip and reports consistent numbers.

No timing is asserted: only that every row was measured and that every derived number (share,
verdict, CPU ceiling) is what the row's medians say, and that the committed page is written
from the committed JSON.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.video.video_files import write_test_video

sys.path.insert(0, str(REPO_ROOT / "tools"))  # the bench imports machine_info beside it
spec = importlib.util.spec_from_file_location("bench_video", REPO_ROOT / "tools" / "bench_video.py")
assert spec is not None and spec.loader is not None
bench_video = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench_video
spec.loader.exec_module(bench_video)

FRAMES = 12


@pytest.fixture(scope="module")
def bench(tiny_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    work = tmp_path_factory.mktemp("bench_video")
    rng = np.random.default_rng(0)
    clip = write_test_video(
        work / "clip.avi", [rng.integers(0, 255, (96, 160, 3), np.uint8) for _ in range(5)]
    )
    argv = [
        "bench_video.py", "--model", str(tiny_onnx), "--video", str(clip),
        "--frames", str(FRAMES), "--batch", "1", "2", "--threads", "1",
        "--niceness", "10", "0", "--rounds", "1", "--out", str(work),
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        bench_video.main()
    return json.loads((work / "video.json").read_text()), (work / "video.md").read_text()


def test_every_combination_is_measured_and_derived_numbers_follow(
    bench: tuple[dict[str, Any], str],
) -> None:
    report, page = bench
    assert report["video"]["frames"] == FRAMES and report["video"]["size"] == [96, 160]
    assert [(row["batch"], row["niceness"]) for row in report["rows"]] == [
        (1, 10), (1, 0), (2, 10), (2, 0)
    ]  # fmt: skip
    for row in report["rows"]:
        assert row["threads"] == 1 and row["provider"] == "CPUExecutionProvider"
        assert len(row["engine_fps_rounds"]) == len(row["pipeline_fps_rounds"]) == 1
        assert row["engine_fps"] > 0 and row["pipeline_fps"] > 0
        assert row["share"] == pytest.approx(row["pipeline_fps"] / row["engine_fps"])
        ceiling = report["machine"]["cores"] * 1000 / row["pipeline_cpu_ms"] / row["engine_fps"]
        assert row["cpu_ceiling"] == pytest.approx(min(1.0, ceiling))
        verdict = "PASS" if row["share"] >= report["target_share"] else "MISS"
        line = f"| 1 | {row['batch']} | {row['niceness']} | {row['engine_fps']:.1f} |"
        assert any(text.startswith(line) and verdict in text for text in page.splitlines())
    assert bench_video.markdown(report) == page


def test_the_committed_page_is_written_from_the_committed_json() -> None:
    committed = REPO_ROOT / "benchmarks"
    report = json.loads((committed / "video.json").read_text())
    assert bench_video.markdown(report) == (committed / "video.md").read_text()
