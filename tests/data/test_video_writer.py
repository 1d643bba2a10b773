"""Video writer: real OpenCV files read back, per-frame COCO labels, clear failures."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from perception.data import video_writer
from perception.data.sample import Sample
from perception.data.video_writer import write_video
from tests.video.video_files import read_video


def frames(count: int, height: int = 64, width: int = 96, make=None):
    """Smooth frames (codec-friendly): a red left half, a moving blue bar, labels from make."""
    for index in range(count):
        image = np.zeros((height, width, 3), np.uint8)
        image[:, : width // 2, 0] = 220
        image[:, width // 2 :, 2] = 200
        image[: height // 4, (index * 4) % width : (index * 4) % width + 8] = 255
        sample = make(index, height=height, width=width) if make else Sample(image=image)
        yield Sample(
            image=image,
            boxes=sample.boxes,
            category=sample.category,
            light_state=sample.light_state,
            occluded=sample.occluded,
            truncated=sample.truncated,
            keypoints=sample.keypoints,
            depth=sample.depth,
            image_id=f"f{index}",
        )


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_video_reads_back_with_count_size_fps_and_colours(tmp_path, make_sample, suffix):
    video, labels = write_video(frames(12, make=make_sample), tmp_path / f"clip{suffix}", fps=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([video.name, labels.name])
    capture = cv2.VideoCapture(str(video))
    assert capture.isOpened()
    assert int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 96
    assert int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == 64
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(10, abs=0.01)
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    capture.release()
    decoded, _ = read_video(video)
    assert len(decoded) == 12
    for frame, expected in zip(decoded, frames(12), strict=True):
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(float)
        assert np.abs(rgb - expected.image).mean() < 8
        assert rgb[32, 10, 0] > 150 and rgb[32, 10, 2] < 60


def test_labels_have_one_entry_per_frame(tmp_path, make_sample):
    originals = list(frames(5, make=make_sample))
    _, labels = write_video(iter(originals), tmp_path / "clip.mp4", fps=5)
    document = json.loads(labels.read_text())
    assert [image["frame_index"] for image in document["images"]] == list(range(5))
    assert {image["file_name"] for image in document["images"]} == {"clip.mp4"}
    coco = COCO(str(labels))
    for image_id, sample in zip(coco.getImgIds(), originals, strict=True):
        assert len(coco.getAnnIds(imgIds=[image_id])) == sample.num_objects


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"suffix"):
        write_video(frames(2), tmp_path / "clip.mkv", fps=10)
    with pytest.raises(ValueError, match="no frames"):
        write_video(iter([]), tmp_path / "clip.mp4", fps=10)
    mixed = [*frames(1, 64, 96), *frames(1, 32, 96)]
    with pytest.raises(ValueError, match="frame 1"):
        write_video(mixed, tmp_path / "clip.avi", fps=10)
    assert list(tmp_path.iterdir()) == []


def test_writer_that_does_not_open_raises(tmp_path, monkeypatch):
    class ClosedWriter:
        fourcc = staticmethod(cv2.VideoWriter.fourcc)

        def __init__(self, *args: object) -> None:
            pass

        def isOpened(self) -> bool:
            return False

        def release(self) -> None:
            pass

    monkeypatch.setattr(video_writer.cv2, "VideoWriter", ClosedWriter)
    with pytest.raises(OSError, match=r"could not open .*clip\.mp4"):
        write_video(frames(2), tmp_path / "clip.mp4", fps=10)
    assert list(tmp_path.iterdir()) == []
