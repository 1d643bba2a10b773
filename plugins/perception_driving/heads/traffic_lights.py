"""The ``traffic_lights`` head: traffic-light boxes and each lamp's state."""

from __future__ import annotations

from typing import Any

from perception.data.draw import STATE_COLOURS
from perception.data.sample import LIGHT_STATES
from perception.model.centernet_head import CenterNetHead
from perception.model.centernet_options import build_centernet_head
from perception.model.centernet_targets import BoxAttribute
from perception.model.feature_spec import FeatureSpec

SUMMARY = "traffic lights: CenterNet boxes + lamp state (red/yellow/green/off), COCO AP"

LAMP_STATE = BoxAttribute(
    name="state",
    sample_field="light_state",
    values=LIGHT_STATES,
    colours=tuple(STATE_COLOURS[state] for state in LIGHT_STATES),
)
"""Decoded as ``state (B, K)`` and ``state_scores (B, K, 4)``; metric ``state_accuracy``."""


def build_traffic_lights(
    feature_spec: FeatureSpec, input_size: tuple[int, int], **options: Any
) -> CenterNetHead:
    """A CenterNet head for ``traffic_light`` boxes with a lamp-state attribute; options as in
    :func:`~perception.model.centernet_options.build_centernet_head`."""
    return build_centernet_head(
        "traffic_lights",
        feature_spec,
        input_size,
        ("traffic_light",),
        attributes=(LAMP_STATE,),
        options=options,
    )
