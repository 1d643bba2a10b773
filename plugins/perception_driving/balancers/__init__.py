"""Built-in loss balancers, registered through the ``perception`` entry-point group."""

from __future__ import annotations

from perception.plugins import BalancerRecord, hookimpl
from perception_driving.balancers import equal_weights


@hookimpl
def perception_register_balancers() -> list[BalancerRecord]:
    return [BalancerRecord("equal", equal_weights.build_equal, equal_weights.SUMMARY)]
