"""The ONNX engine needs only the file: it loads and runs an export in an environment from which
the plugin distribution (and torch) have been removed.

The environment is a real virtual environment whose site-packages holds everything this one has
(as links) except ``perception-driving`` and torch, so Python's own start-up, ``.pth`` handling
and entry-point discovery decide what is importable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np

from perception.inference.onnx_engine import OnnxEngine
from perception.inference.predictions import Detections

REMOVED = ("perception_driving", "torch", "functorch", "torchgen", "torchvision")
"""Name prefixes of the site-packages entries left out of the stripped environment."""

SCRIPT = """
import importlib.metadata, importlib.util, json, sys
import numpy as np
for module in ("perception_driving", "torch"):
    assert importlib.util.find_spec(module) is None, module + " is still importable"
assert not importlib.metadata.entry_points(group="perception"), "plugin entry points remain"
from perception.inference.onnx_engine import OnnxEngine
engine = OnnxEngine(sys.argv[1], providers=["cpu"])
frames = list(np.load(sys.argv[2]))
result = [
    {head: [p.scores.tolist(), p.boxes.tolist(), p.classes.tolist()]
     for head, p in frame.items() if hasattr(p, "classes")}
    for frame in engine.predict(frames, score_threshold=0.0)
]
assert "torch" not in sys.modules, "the ONNX engine imported torch"
print(json.dumps(result))
"""


def stripped_environment(root: Path) -> Path:
    """A virtual environment under ``root`` with this one's packages minus :data:`REMOVED`;
    returns its Python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    python = root / "bin" / "python"
    theirs = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    for entry in ours.iterdir():
        name = entry.name.removeprefix("__editable__.").removeprefix("__editable___")
        if not name.startswith(REMOVED) and not (theirs / entry.name).exists():
            (theirs / entry.name).symlink_to(entry)
    return python


def test_onnx_engine_runs_without_the_plugins_or_torch(
    tiny_onnx: Path, bgr_frames: list[np.ndarray], tmp_path: Path
) -> None:
    python = stripped_environment(tmp_path / "env")
    frames_file = tmp_path / "frames.npy"
    np.save(frames_file, np.stack(bgr_frames))
    result = subprocess.run(
        [str(python), "-c", SCRIPT, str(tiny_onnx), str(frames_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "running tiny.onnx on CPUExecutionProvider" in result.stderr
    stripped = json.loads(result.stdout)
    here = OnnxEngine(tiny_onnx, providers=["cpu"], log=lambda message: None).predict(
        bgr_frames, score_threshold=0.0
    )
    assert len(stripped) == len(here)
    for theirs, ours in zip(stripped, here, strict=True):
        boxes_heads = [head for head, value in ours.items() if isinstance(value, Detections)]
        assert sorted(theirs) == sorted(boxes_heads) and boxes_heads
        for head in boxes_heads:
            detections = ours[head]
            assert isinstance(detections, Detections)
            scores, boxes, classes = theirs[head]
            np.testing.assert_allclose(scores, detections.scores, atol=1e-6)
            np.testing.assert_allclose(boxes, detections.boxes, atol=1e-4)
            assert classes == detections.classes.tolist()
