"""The ``cars`` head: cars as CenterNet boxes."""

from __future__ import annotations

from typing import Any

from perception.model.centernet_head import CenterNetHead
from perception.model.centernet_options import build_centernet_head
from perception.model.feature_spec import FeatureSpec

SUMMARY = "cars: CenterNet boxes (heatmap peaks + size + offset), COCO AP"


def build_cars(
    feature_spec: FeatureSpec, input_size: tuple[int, int], **options: Any
) -> CenterNetHead:
    """A one-class CenterNet head for ``car`` boxes; options as in
    :func:`~perception.model.centernet_options.build_centernet_head`."""
    return build_centernet_head("cars", feature_spec, input_size, ("car",), options=options)
