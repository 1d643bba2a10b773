"""Hand-made samples with boxes for the CenterNet head tests."""

from __future__ import annotations

import numpy as np

from perception.data.sample import CATEGORIES, Sample
from perception.model.feature_spec import FeatureLevel, FeatureSpec

INPUT_SIZE = (64, 96)
SPEC = FeatureSpec((FeatureLevel("p2", 8, 4), FeatureLevel("p3", 8, 8)))


def box_sample(
    boxes: list[tuple[float, float, float, float]],
    categories: list[str],
    light_states: list[int] | None = None,
    image_id: str = "img",
) -> Sample:
    """A ``64 x 96`` sample with the given xyxy boxes and category names."""
    count = len(boxes)
    states = [-1] * count if light_states is None else light_states
    return Sample(
        image=np.zeros((*INPUT_SIZE, 3), dtype=np.uint8),
        boxes=np.array(boxes, dtype=np.float32).reshape(count, 4),
        category=np.array([CATEGORIES.index(c) for c in categories], dtype=np.int64),
        light_state=np.array(states, dtype=np.int64),
        occluded=np.zeros(count, dtype=bool),
        truncated=np.zeros(count, dtype=bool),
        image_id=image_id,
    )


def unlabelled_sample() -> Sample:
    return Sample(image=np.zeros((*INPUT_SIZE, 3), dtype=np.uint8), image_id="unlabelled")
