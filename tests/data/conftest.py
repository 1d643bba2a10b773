"""Hand-made samples for the data tests (independent of the synthetic world)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from perception.data.sample import CATEGORIES, Sample

MakeSample = Callable[..., Sample]


def random_sample(
    rng: np.random.Generator,
    height: int = 96,
    width: int = 128,
    num_objects: int = 5,
    image_id: str = "img",
    with_keypoints: bool = True,
    with_depth: bool = True,
) -> Sample:
    """A sample with random boxes of every category, keypoints for pedestrians, smooth depth.

    Keypoints lie inside their box; depth is a smooth positive field with a hole of zeros.
    """
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    category = np.resize(np.arange(len(CATEGORIES)), num_objects).astype(np.int64)
    x1 = rng.uniform(0, width * 0.6, num_objects)
    y1 = rng.uniform(0, height * 0.6, num_objects)
    x2 = x1 + rng.uniform(8, width * 0.4, num_objects)
    y2 = y1 + rng.uniform(8, height * 0.4, num_objects)
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
    light = CATEGORIES.index("traffic_light")
    light_state = np.where(category == light, rng.integers(0, 4, num_objects), -1)
    keypoints = None
    if with_keypoints:
        keypoints = np.zeros((num_objects, 17, 3), dtype=np.float32)
        for row in np.flatnonzero(category == CATEGORIES.index("pedestrian")):
            keypoints[row, :, 0] = rng.uniform(boxes[row, 0], boxes[row, 2], 17)
            keypoints[row, :, 1] = rng.uniform(boxes[row, 1], boxes[row, 3], 17)
            keypoints[row, :, 2] = rng.integers(0, 3, 17)
    depth = None
    if with_depth:
        rows, cols = np.mgrid[0:height, 0:width]
        depth = (8.0 + 60.0 * rows / height + 5.0 * np.sin(cols / 7.0)).astype(np.float32)
        depth[: height // 8, : width // 8] = 0.0
    return Sample(
        image=image,
        boxes=boxes,
        category=category,
        light_state=light_state.astype(np.int64),
        occluded=rng.random(num_objects) < 0.5,
        truncated=rng.random(num_objects) < 0.3,
        keypoints=keypoints,
        depth=depth,
        image_id=image_id,
        meta={"lighting": "day", "index": int(rng.integers(0, 1000))},
    )


@pytest.fixture
def make_sample() -> MakeSample:
    """``make_sample(seed, **options) -> Sample``, see :func:`random_sample`."""

    def make(seed: int = 0, **options: object) -> Sample:
        return random_sample(np.random.default_rng(seed), **options)  # type: ignore[arg-type]

    return make
