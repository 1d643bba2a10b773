"""The ``stop_signs`` head: stop signs as CenterNet boxes."""

from __future__ import annotations

from typing import Any

from perception.model.centernet_head import CenterNetHead
from perception.model.centernet_options import build_centernet_head
from perception.model.feature_spec import FeatureSpec

SUMMARY = "stop signs: CenterNet boxes (heatmap peaks + size + offset), COCO AP"


def build_stop_signs(
    feature_spec: FeatureSpec, input_size: tuple[int, int], **options: Any
) -> CenterNetHead:
    """A one-class CenterNet head for ``stop_sign`` boxes; options as in
    :func:`~perception.model.centernet_options.build_centernet_head`."""
    return build_centernet_head(
        "stop_signs", feature_spec, input_size, ("stop_sign",), options=options
    )
