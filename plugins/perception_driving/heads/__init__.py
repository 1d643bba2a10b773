"""The six built-in driving heads, registered through the ``perception`` entry-point group."""

from __future__ import annotations

from perception.plugins import HeadRecord, hookimpl
from perception_driving.heads import (
    cars,
    depth,
    pedestrian_keypoints,
    pedestrians,
    stop_signs,
    traffic_lights,
)


@hookimpl
def perception_register_heads() -> list[HeadRecord]:
    return [
        HeadRecord("traffic_lights", traffic_lights.build_traffic_lights, traffic_lights.SUMMARY),
        HeadRecord("cars", cars.build_cars, cars.SUMMARY),
        HeadRecord("pedestrians", pedestrians.build_pedestrians, pedestrians.SUMMARY),
        HeadRecord("stop_signs", stop_signs.build_stop_signs, stop_signs.SUMMARY),
        HeadRecord("depth", depth.build_depth, depth.SUMMARY),
        HeadRecord(
            "pedestrian_keypoints",
            pedestrian_keypoints.build_pedestrian_keypoints,
            pedestrian_keypoints.SUMMARY,
        ),
    ]
