"""``perception synth`` and ``perception demo`` end to end, as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from pycocotools.coco import COCO

from perception.config.loader import load_config
from perception.inference.onnx_engine import OnnxEngine
from tests.conftest import REPO_ROOT

PERCEPTION = Path(sys.executable).with_name("perception")
SMALL = [
    "--set", "outputs.train_images=6",
    "--set", "outputs.val_images=3",
    "--set", "outputs.video_frames=8",
    "--set", "outputs.video_fps=5",
    "--set", "outputs.contact_sheet_samples=4",
    "--set", "synth.height=96",
    "--set", "synth.width=160",
]  # fmt: skip


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PERCEPTION), *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_synth_writes_dataset_video_and_sheet(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = run_cli("synth", *SMALL, "--set", "seed=3", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert load_config(out / "config.yaml").seed == 3
    for split, count in (("train", 6), ("val", 3)):
        coco = COCO(str(out / "annotations" / f"{split}.json"))
        assert len(coco.getImgIds()) == count
        assert len(list((out / "images" / split).glob("*.png"))) == count
        assert len(list((out / "depth" / split).glob("*.png"))) == count
    capture = cv2.VideoCapture(str(out / "video" / "drive.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    assert int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 160
    assert capture.get(cv2.CAP_PROP_FPS) == 5
    capture.release()
    frames = json.loads((out / "video" / "drive.json").read_text())["images"]
    assert [frame["frame_index"] for frame in frames] == list(range(8))
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] > 0
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*"))


def test_same_seed_writes_identical_datasets(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_cli("synth", *SMALL, "-o", str(tmp_path / name)).returncode == 0
    for relative in ("annotations/train.json", "annotations/val.json"):
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()
    for image in sorted((tmp_path / "a" / "images" / "train").glob("*.png")):
        twin = tmp_path / "b" / "images" / "train" / image.name
        assert image.read_bytes() == twin.read_bytes()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    tiny = REPO_ROOT / "configs" / "tiny.yaml"
    result = run_cli(
        "demo", "--config", str(tiny), *SMALL, "--set", "data.batch_size=2",
        "--set", "train.affinity_every=3", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "demo finished" in result.stdout
    assert load_config(out / "config.yaml").data.batch_size == 2
    assert (out / "data" / "annotations" / "train.json").is_file()
    assert (out / "data" / "video" / "drive.mp4").is_file()
    batches = cv2.imread(str(out / "train_batches.png"))
    assert batches is not None
    assert batches.shape[1] > 128
    assert (out / "checkpoints" / "last.pt").is_file()

    report = (out / "report.md").read_text()
    assert "Training took" in report
    for head in (
        "traffic_lights",
        "cars",
        "pedestrians",
        "stop_signs",
        "depth",
        "pedestrian_keypoints",
    ):
        assert f"| {head} |" in report, head
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        drawn = cv2.imread(str(out / image))
        assert drawn is not None and drawn.size > 0, image
    assert len(re.findall(r"!\[", report)) == 4  # losses, convergence, affinity, predictions
    assert "## Convergence diagnostics" in report and "## Inter-task affinity" in report
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["tasks"]["depth"]["model"]["abs_rel"] > 0

    onnx_model = out / "deploy" / "model.onnx"
    assert f"ONNX model          {onnx_model}" in result.stdout
    engine = OnnxEngine(onnx_model, providers=["cpu"], log=lambda message: None)
    assert list(engine.heads) == list(metrics["tasks"])
    (frame,) = engine.predict([np.zeros((120, 200, 3), np.uint8)], score_threshold=0.0)
    assert frame["depth"].metres.shape == (120, 200)

    annotated = out / "infer" / "drive.mp4"
    assert re.search(rf"infer drive +{re.escape(str(annotated))}", result.stdout)
    source, written = (
        cv2.VideoCapture(str(out / "data" / "video" / "drive.mp4")),
        cv2.VideoCapture(str(annotated)),
    )
    frames = int(source.get(cv2.CAP_PROP_FRAME_COUNT))
    assert frames > 0 and int(written.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    lines = (out / "infer" / "drive.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(frames))
    highway = out / "infer" / "test_video.mp4"  # the real clip shipped in tests/fixtures
    assert re.search(rf"infer test_video +{re.escape(str(highway))}", result.stdout)
    assert int(cv2.VideoCapture(str(highway)).get(cv2.CAP_PROP_FRAME_COUNT)) == 38
    assert len((out / "infer" / "test_video.jsonl").read_text().splitlines()) == 38
