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
        "--niceness", "10/5", "0/0", "--rounds", "1", "--out", str(work),
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
        (1, "10/5"), (1, "0/0"), (2, "10/5"), (2, "0/0")
    ]  # fmt: skip
    first, second = report["rows"][:2]
    assert first["engine_fps_rounds"] == second["engine_fps_rounds"], "one engine-only run"
    assert first["pipeline_fps_rounds"] != second["pipeline_fps_rounds"]
    for row in report["rows"]:
        assert row["threads"] == 1 and row["provider"] == "CPUExecutionProvider"
        assert len(row["engine_fps_rounds"]) == len(row["pipeline_fps_rounds"]) == 1
        assert row["engine_fps"] > 0 and row["pipeline_fps"] > 0
        assert 0 < row["drain_ms"] < 1000 * FRAMES / row["pipeline_fps"], "part of the run"
        assert row["share"] == pytest.approx(row["pipeline_fps"] / row["engine_fps"])
        paired = row["pipeline_fps_rounds"][0] / row["engine_fps_rounds"][0]
        assert row["share_rounds"] == [pytest.approx(paired)]
        assert list(row["stage_cpu_ms"]) == list(bench_video.CPU_TIMED_STAGES)
        assert all(cost > 0 for cost in row["stage_cpu_ms"].values()), row["stage_cpu_ms"]
        ceiling = report["machine"]["cores"] * 1000 / row["pipeline_cpu_ms"] / row["engine_fps"]
        assert row["cpu_ceiling"] == pytest.approx(min(1.0, ceiling))
        verdict = "PASS" if row["share"] >= report["target_share"] else "MISS"
        line = f"| 1 | {row['batch']} | {row['niceness']} | {row['engine_fps']:.1f} |"
        assert any(text.startswith(line) and verdict in text for text in page.splitlines())
    assert [row["batch"] for row in report["instant_engine"]] == [1, 2]
    for row in report["instant_engine"]:
        assert len(row["fps_rounds"]) == 1 and row["fps"] == row["fps_rounds"][0] > 0
        assert row["engine_fps_limit"] == pytest.approx(row["fps"] / report["target_share"])
        others = {stage: fps for stage, fps in row["stage_fps"].items() if stage != "inference"}
        assert row["slowest_stage"] == min(others, key=others.__getitem__)
    assert bench_video.markdown(report) == page


def test_the_replay_engine_gives_the_real_engines_predictions_instantly(tiny_onnx: Path) -> None:
    engine = bench_video.OnnxEngine(tiny_onnx, ["cpu"], log=lambda message: None)
    frame = np.random.default_rng(1).integers(0, 255, (120, 200, 3), np.uint8)
    replay = bench_video.ReplayEngine(engine, frame)
    expected = engine.predict([frame], score_threshold=0.0)[0]
    replayed = replay.predict([frame, frame], score_threshold=0.0)
    assert expected.keys() == replayed[0].keys() == replayed[1].keys()
    compared = 0
    for head, prediction in expected.items():
        for name in ("boxes", "scores", "metres"):
            if hasattr(prediction, name) and getattr(prediction, name).size:
                for frame_predictions in replayed:
                    np.testing.assert_allclose(
                        getattr(frame_predictions[head], name), getattr(prediction, name), atol=1e-4
                    )
                compared += 1
    assert compared >= 3


def test_the_committed_page_is_written_from_the_committed_json() -> None:
    committed = REPO_ROOT / "benchmarks"
    report = json.loads((committed / "video.json").read_text())
    assert bench_video.markdown(report) == (committed / "video.md").read_text()
