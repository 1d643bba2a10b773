"""The ``pedestrians`` head: pedestrians as CenterNet boxes."""

from __future__ import annotations

from typing import Any

from perception.model.centernet_head import CenterNetHead
from perception.model.centernet_options import build_centernet_head
from perception.model.feature_spec import FeatureSpec

SUMMARY = "pedestrians: CenterNet boxes (heatmap peaks + size + offset), COCO AP"


def build_pedestrians(
    feature_spec: FeatureSpec, input_size: tuple[int, int], **options: Any
) -> CenterNetHead:
    """A one-class CenterNet head for ``pedestrian`` boxes; options as in
    :func:`~perception.model.centernet_options.build_centernet_head`."""
    return build_centernet_head(
        "pedestrians", feature_spec, input_size, ("pedestrian",), options=options
    )
