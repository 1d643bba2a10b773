"""Built-in loss balancers, registered through the ``perception`` entry-point group."""

from __future__ import annotations

from perception.plugins import BalancerRecord, hookimpl
from perception_driving.balancers import (
    cagrad,
    db_mtl,
    dynamic_weight_average,
    equal_weights,
    famo,
    fixed_weights,
    gradnorm,
    pcgrad,
    uncertainty_weighting,
)


@hookimpl
def perception_register_balancers() -> list[BalancerRecord]:
    return [
        BalancerRecord("equal", equal_weights.build_equal, equal_weights.SUMMARY),
        BalancerRecord("fixed", fixed_weights.build_fixed, fixed_weights.SUMMARY),
        BalancerRecord(
            "uncertainty", uncertainty_weighting.build_uncertainty, uncertainty_weighting.SUMMARY
        ),
        BalancerRecord("dwa", dynamic_weight_average.build_dwa, dynamic_weight_average.SUMMARY),
        BalancerRecord("famo", famo.build_famo, famo.SUMMARY),
        BalancerRecord("gradnorm", gradnorm.build_gradnorm, gradnorm.SUMMARY),
        BalancerRecord("pcgrad", pcgrad.build_pcgrad, pcgrad.SUMMARY),
        BalancerRecord("cagrad", cagrad.build_cagrad, cagrad.SUMMARY),
        BalancerRecord("db_mtl", db_mtl.build_db_mtl, db_mtl.SUMMARY),
    ]
