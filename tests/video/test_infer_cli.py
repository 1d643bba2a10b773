"""``perception infer`` as a user runs it: videos in, annotated video and JSON lines out."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from perception.cli.demo_command import HIGHWAY_CLIP  # 1280x720, 38 frames at 25 fps
from perception.cli.infer_command import summary_text
from perception.config.schema import RunConfig
from perception.inference.compare import Tolerance, prediction_differences
from perception.inference.onnx_engine import OnnxEngine
from perception.inference.predictions import Detections
from perception.video.pipeline import CPU_TIMED_STAGES, STAGES, PipelineSummary
from tests.cli.test_cli_errors import PERCEPTION, assert_one_line_error, run_cli
from tests.train.tiny_run import synthetic_samples
from tests.video.video_files import (
    detections_from_json,
    people_from_json,
    read_jsonl,
    read_video,
    write_test_video,
)

JSON_ROUNDING = Tolerance(
    score=2e-4, coordinate_abs=2e-2, coordinate_rel=1e-5, depth_abs=1e-2, depth_rel=1e-5
)
"""What rounding in the JSON lines (0.01 px, 1e-4 score) leaves of an exact agreement."""


@pytest.fixture(scope="module")
def driving_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 rendered driving frames, 180x320, as an mp4v video at 10 FPS."""
    samples = synthetic_samples(12, 180, 320, seed=21)
    frames = [cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR) for sample in samples]
    return write_test_video(tmp_path_factory.mktemp("video") / "drive.mp4", frames)


def infer(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("infer", *args, "--device", "cpu", "--no-progress", cwd=cwd)


def start_infer(
    *args: str, before_exec: Callable[[], None] = lambda: None
) -> subprocess.Popen[str]:
    """``perception infer ARGS`` started in the background, ready to take a SIGINT;
    ``before_exec`` runs in the child first (to set a resource limit, say)."""

    def prepare_child() -> None:
        # A shell's background job starts with SIGINT ignored, and Python keeps an ignored SIGINT
        # ignored: give the child the default disposition, as a terminal would.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        before_exec()

    return subprocess.Popen(
        [str(PERCEPTION), "infer", *args, "--device", "cpu", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=prepare_child,
    )  # fmt: skip


def assert_boxes_match_the_engine(
    records: list[dict], frames: list[np.ndarray], model: Path, conf: float
) -> None:
    """Every box head of every JSON line agrees with the ONNX engine run on the same frames."""
    engine = OnnxEngine(model, providers=["cpu"], log=lambda message: None)
    expected = engine.predict(frames, score_threshold=conf)
    compared = 0
    for record, frame in zip(records, expected, strict=True):
        for head, prediction in frame.items():
            if isinstance(prediction, Detections):
                values = {name: a.names for name, a in prediction.attributes.items()}
                from_json = detections_from_json(
                    record["heads"][head], prediction.class_names, values
                )
                compared += len(from_json)
                problems = prediction_differences(
                    [{head: from_json}], [{head: prediction}], JSON_ROUNDING, conf
                )
                assert problems == [], (record["frame"], problems[:3])
    assert compared > 0, "the comparison must cover real detections"


def test_infer_annotates_a_synthetic_video(
    driving_video: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "drive_annotated.mp4"
    result = infer(str(driving_video), "--model", str(tiny_onnx), "--out", str(out),
                   "--conf", "0.05", "--batch", "4")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "running tiny.onnx on CPUExecutionProvider" in result.stderr
    assert "processed: 12 frames" in result.stdout
    for stage in ("decode", "preprocess", "inference", "postprocess", "render", "encode"):
        assert f"\n{stage} " in result.stdout, stage
    drain = re.search(r"\ndrain: (\d+\.\d\d) s after the engine's last batch", result.stdout)
    assert drain is not None and float(drain.group(1)) >= 0
    frames_in, fps_in = read_video(driving_video)
    frames_out, fps_out = read_video(out)
    assert len(frames_out) == len(frames_in) == 12
    assert frames_out[0].shape == frames_in[0].shape == (180, 320, 3)
    assert fps_out == pytest.approx(fps_in)
    records = read_jsonl(out.with_suffix(".jsonl"))
    assert [record["frame"] for record in records] == list(range(12))
    assert records[3]["time"] == pytest.approx(0.3)
    assert set(records[0]["heads"]) == {
        "traffic_lights", "cars", "pedestrians", "stop_signs", "depth", "pedestrian_keypoints"
    }  # fmt: skip
    assert records[0]["heads"]["depth"]["width"] == 320
    assert_boxes_match_the_engine(records, frames_in, tiny_onnx, conf=0.05)
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "drive_annotated.jsonl", "drive_annotated.mp4"
    ], "no temporary files left"  # fmt: skip


def test_infer_on_the_real_highway_clip(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "highway.avi"
    jsonl = tmp_path / "highway.jsonl"
    result = infer(str(HIGHWAY_CLIP), "--model", str(tiny_onnx), "--out", str(out), "--jsonl",
                   str(jsonl), "--conf", "0.05", "--batch", "8", "--depth", "side")  # fmt: skip
    assert result.returncode == 0, result.stderr
    frames_in, fps_in = read_video(HIGHWAY_CLIP)
    frames_out, fps_out = read_video(out)
    assert len(frames_in) == len(frames_out) == 38
    assert frames_out[0].shape == (720, 2560, 3), "side-by-side depth doubles the width"
    assert fps_out == pytest.approx(fps_in) == pytest.approx(25.0)
    records = read_jsonl(jsonl)
    assert [record["frame"] for record in records] == list(range(38))
    assert_boxes_match_the_engine(records, frames_in, tiny_onnx, conf=0.05)


def test_a_video_cut_short_by_a_full_disk_is_an_error(tiny_onnx: Path, tmp_path: Path) -> None:
    """OpenCV's writer reports no write errors: a file-size limit below the video's size (as a
    full disk would) must still fail the run instead of leaving an MP4 without its index."""
    out = tmp_path / "out" / "highway.mp4"
    limit = 200_000  # bytes: the 38 annotated 720p frames take several times that

    def limit_file_size() -> None:  # Python ignores SIGXFSZ, so writes past it fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    process = start_infer(  # --conf 1: short JSON lines, well below the limit
        str(HIGHWAY_CLIP), "--model", str(tiny_onnx), "--out", str(out), "--conf", "1",
        before_exec=limit_file_size,
    )  # fmt: skip
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: the video written into {out.parent} reads back 0 of its 38 frames "
        "(is the disk full?)"
    )
    assert list(out.parent.iterdir()) == [], "neither output, nor a temporary file, is left"


def corrupt_mjpg_frames(video: Path, indices: Iterable[int]) -> Path:
    """``video`` (MJPG) with the JPEG data of the frames at ``indices`` zeroed past its
    start-of-image marker, so that they cannot be decoded."""
    data = bytearray(video.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xd8"]
    count = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)
    assert len(starts) == count, "one JPEG per MJPG frame"
    for index in indices:
        data[starts[index] + 2 : starts[index] + 400] = bytes(398)
    video.write_bytes(bytes(data))
    return video


def test_corrupt_frames_are_skipped_with_a_warning_and_counted(
    tiny_onnx: Path, tmp_path: Path
) -> None:
    frames = [np.full((96, 160, 3), 20 * i, np.uint8) for i in range(10)]
    for index, frame in enumerate(frames):
        cv2.putText(frame, str(index), (50, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 2)
    video = corrupt_mjpg_frames(write_test_video(tmp_path / "broken.avi", frames), (4, 5))

    out = tmp_path / "out.mp4"
    result = infer(str(video), "--model", str(tiny_onnx), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"warning: frames 4-5 of {video} cannot be decoded; skipped (2 frames)" in (
        result.stderr.splitlines()
    ), "one line for a run of undecodable frames"
    assert "2 undecodable skipped" in result.stdout
    records = read_jsonl(out.with_suffix(".jsonl"))
    assert [record["frame"] for record in records] == [0, 1, 2, 3, 6, 7, 8, 9]
    assert len(read_video(out)[0]) == 8


def test_a_video_whose_tail_cannot_be_decoded_ends_with_a_note(
    tiny_onnx: Path, tmp_path: Path
) -> None:
    frames = [np.full((96, 160, 3), 4 * i, np.uint8) for i in range(50)]
    video = corrupt_mjpg_frames(write_test_video(tmp_path / "cut.avi", frames), range(8, 50))
    out = tmp_path / "out.mp4"
    result = infer(str(video), "--model", str(tiny_onnx), "--out", str(out))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: frames 8-37 of {video} cannot be decoded; skipped (30 frames)",
        f"warning: {video}: 30 frames in a row cannot be decoded; treated as ended, frames "
        "38-49 not read",
    ]
    assert "processed: 8 frames" in result.stdout and "30 undecodable skipped" in result.stdout
    assert [record["frame"] for record in read_jsonl(out.with_suffix(".jsonl"))] == list(range(8))


@pytest.mark.parametrize(
    ("stop", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_a_stop_signal_leaves_a_playable_video_and_complete_json_lines(
    stop: signal.Signals, status: int, tiny_onnx: Path, tmp_path: Path
) -> None:
    """Ctrl-C, and SIGTERM (docker stop, systemd) handled as Ctrl-C is."""
    samples = synthetic_samples(10, 360, 640, seed=4)
    frames = [cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR) for sample in samples] * 150
    video = write_test_video(tmp_path / "long.mp4", frames, fps=30.0)
    out_dir = tmp_path / "out"
    process = start_infer(str(video), "--model", str(tiny_onnx), "--out", str(out_dir / "long.mp4"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until frames are being written
        partial = list(out_dir.glob(".long.jsonl.*")) if out_dir.is_dir() else []
        if partial and partial[0].stat().st_size > 2000:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == status, (stdout, stderr)
    assert "interrupted:" in stdout
    records = read_jsonl(out_dir / "long.jsonl")
    assert 0 < len(records) < 1500
    assert [record["frame"] for record in records] == list(range(len(records)))
    written, _ = read_video(out_dir / "long.mp4")
    assert len(written) == len(records)
    assert sorted(os.listdir(out_dir)) == ["long.jsonl", "long.mp4"]


def test_checkpoint_and_onnx_file_give_the_same_json_lines(
    tiny_model: tuple[torch.nn.Module, RunConfig], driving_video: Path, tmp_path: Path
) -> None:
    trained = run_cli("train", str(Path("configs/tiny.yaml").resolve()), "-o", str(tmp_path),
                      "--set", "train.max_steps=2")  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    checkpoint = tmp_path / "checkpoints" / "last.pt"
    exported = run_cli("export", str(checkpoint), "-o", str(tmp_path / "model.onnx"))
    assert exported.returncode == 0, exported.stderr
    runs = {}
    for name, model in (("torch", checkpoint), ("onnx", tmp_path / "model.onnx")):
        out = tmp_path / name / "drive.mp4"
        result = infer(str(driving_video), "--model", str(model), "--out", str(out),
                       "--conf", "0.05")  # fmt: skip
        assert result.returncode == 0, result.stderr
        runs[name] = read_jsonl(out.with_suffix(".jsonl"))
    heads = OnnxEngine(tmp_path / "model.onnx", providers=["cpu"], log=print).heads
    compared = 0
    for torch_record, onnx_record in zip(runs["torch"], runs["onnx"], strict=True):
        assert torch_record["frame"] == onnx_record["frame"]
        for head, entries in torch_record["heads"].items():
            other = onnx_record["heads"][head]
            if head == "depth":
                for key in ("min", "median", "max"):
                    assert other[key] == pytest.approx(entries[key], abs=2e-3)
                continue
            description = heads[head]
            if description["kind"] == "keypoints":
                pair = (people_from_json(other), people_from_json(entries))
            else:
                names = tuple(description["classes"])
                values = {
                    name: tuple(entry["values"])
                    for name, entry in description.get("attributes", {}).items()
                }
                pair = (
                    detections_from_json(other, names, values),
                    detections_from_json(entries, names, values),
                )
            problems = prediction_differences(
                [{head: pair[0]}], [{head: pair[1]}], JSON_ROUNDING, 0.05
            )
            assert problems == [], (torch_record["frame"], head, problems[:3])
            compared += len(entries)
    assert compared > 0


def test_infer_on_a_folder_of_images_of_several_sizes(
    driving_video: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    frames, _ = read_video(driving_video)
    folder = tmp_path / "photos"
    folder.mkdir()
    sizes = [(180, 320), (320, 180), (240, 320), (180, 320)]  # (height, width)
    for index, (frame, (height, width)) in enumerate(zip(frames, sizes, strict=False)):
        cv2.imwrite(str(folder / f"{index:02d}.jpg"), cv2.resize(frame, (width, height)))
    out = tmp_path / "photos.mp4"
    result = infer(str(folder), "--model", str(tiny_onnx), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "processed: 4 frames" in result.stdout
    assert result.stderr.count("letterboxed into it") == 1
    assert "Failed to write frame" not in result.stderr
    frames_out, fps_out = read_video(out)
    assert [frame.shape for frame in frames_out] == [(180, 320, 3)] * 4
    assert fps_out == pytest.approx(10.0)
    records = read_jsonl(out.with_suffix(".jsonl"))
    assert [record["time"] for record in records] == pytest.approx([0, 0.1, 0.2, 0.3])
    assert [(r["heads"]["depth"]["height"], r["heads"]["depth"]["width"]) for r in records] == sizes


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--batch", "0", "--batch and --stride must be at least 1"),
        ("--stride", "-2", "--batch and --stride must be at least 1"),
        ("--conf", "1.5", "--conf is a score threshold in [0, 1], got 1.5"),
    ],
)
def test_bad_numbers_are_refused_before_anything_runs(
    driving_video: Path, tiny_onnx: Path, tmp_path: Path, flag: str, value: str, message: str
) -> None:
    result = infer(str(driving_video), "--model", str(tiny_onnx), flag, value, cwd=tmp_path)
    assert_one_line_error(result, message)
    assert not (tmp_path / "runs").exists()


def test_output_never_overwrites_the_input(driving_video: Path, tiny_onnx: Path) -> None:
    before = driving_video.read_bytes()
    result = infer(str(driving_video), "--model", str(tiny_onnx), "--out", str(driving_video))
    assert_one_line_error(result, "would overwrite", str(driving_video))
    assert driving_video.read_bytes() == before


def test_an_output_that_is_a_folder_is_refused_before_the_model_loads(
    driving_video: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "annotated.mp4"
    folder.mkdir()
    result = infer(str(driving_video), "--model", str(tiny_onnx), "--out", str(folder))
    # one line: the engine never announced where it runs
    assert_one_line_error(result, f"{folder} is a folder; give a file name to write to")
    assert list(tmp_path.iterdir()) == [folder] and not any(folder.iterdir())
    under_a_file = tmp_path / "notes.txt"
    under_a_file.write_text("")
    jsonl = under_a_file / "predictions.jsonl"
    result = infer(str(driving_video), "--model", str(tiny_onnx), "--out", str(folder / "a.mp4"),
                   "--jsonl", str(jsonl))  # fmt: skip
    assert_one_line_error(result, f"cannot write {jsonl}: {under_a_file} is a file, not a folder")
    assert not any(folder.iterdir())


def test_unreadable_source_or_model_fails_at_once(
    driving_video: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    missing = infer(str(tmp_path / "nope.mp4"), "--model", str(tiny_onnx))
    assert_one_line_error(missing, "nope.mp4", "does not exist")
    no_camera = infer("63", "--model", str(tiny_onnx))  # with OpenCV's own warnings left out
    assert_one_line_error(no_camera, "cannot open camera 63")
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    assert_one_line_error(infer(str(not_video), "--model", str(tiny_onnx)), "notes.mp4")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(tiny_onnx.read_bytes()[:5000])
    result = infer(str(driving_video), "--model", str(broken), cwd=tmp_path)
    assert_one_line_error(result, "broken.onnx", "truncated")
    assert not (tmp_path / "runs").exists(), "nothing is written when the model is unreadable"


def test_the_stage_table_keeps_its_columns_apart_at_any_rate() -> None:
    summary = PipelineSummary("clip.mp4", frames_read=1_000_000, frames_processed=1_000_000)
    summary.stage_seconds = dict.fromkeys(STAGES, 0.5) | {"decode": 0.0, "encode": 2.0}
    summary.stage_cpu_seconds = dict.fromkeys(CPU_TIMED_STAGES, 0.4) | {"encode": 12340.0}
    rows = summary_text(summary, Path("a.mp4"), Path("a.jsonl")).splitlines()[2:8]
    assert [row.split() for row in rows] == [
        ["decode", "0.00", "0.00", "inf"],
        ["preprocess", "0.50", "0.00", "2000000.0"],
        ["inference", "0.50", "-", "2000000.0"],
        ["postprocess", "0.50", "0.00", "2000000.0"],
        ["render", "0.50", "0.00", "2000000.0"],
        ["encode", "2.00", "12.34", "500000.0"],
    ]
