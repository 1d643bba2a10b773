"""The feature pyramid neck: spec, shapes, level order, errors."""

from __future__ import annotations

import pytest
import torch

from perception.model.backbones import TinyBackbone
from perception.model.feature_spec import FeatureLevel, FeatureSpec
from perception.model.neck import FPNNeck

CHANNELS = 16


@pytest.fixture
def backbone_and_neck() -> tuple[TinyBackbone, FPNNeck]:
    torch.manual_seed(0)
    backbone = TinyBackbone(width=8)
    return backbone, FPNNeck(backbone.feature_spec, CHANNELS)


def test_spec_renames_levels_by_stride_and_sets_the_width(
    backbone_and_neck: tuple[TinyBackbone, FPNNeck],
) -> None:
    backbone, neck = backbone_and_neck
    assert neck.feature_spec.names == ("p2", "p3", "p4", "p5")
    assert [level.stride for level in neck.feature_spec.levels] == [
        level.stride for level in backbone.feature_spec.levels
    ]
    assert {level.channels for level in neck.feature_spec.levels} == {CHANNELS}


@pytest.mark.parametrize(("height", "width"), [(64, 96), (70, 100)])
def test_every_level_keeps_the_backbone_resolution(
    backbone_and_neck: tuple[TinyBackbone, FPNNeck], height: int, width: int
) -> None:
    backbone, neck = backbone_and_neck
    features = backbone(torch.randn(2, 3, height, width))
    pyramid = neck(features)
    assert list(pyramid) == list(neck.feature_spec.names)
    for in_level, out_level in zip(
        backbone.feature_spec.levels, neck.feature_spec.levels, strict=True
    ):
        batch, _, rows, columns = features[in_level.name].shape
        assert pyramid[out_level.name].shape == (batch, CHANNELS, rows, columns)


def test_input_order_does_not_matter(backbone_and_neck: tuple[TinyBackbone, FPNNeck]) -> None:
    backbone, neck = backbone_and_neck
    with torch.no_grad():
        features = backbone.eval()(torch.randn(1, 3, 64, 96))
        reversed_features = dict(reversed(list(features.items())))
        expected, pyramid = neck(features), neck(reversed_features)
    for name in neck.feature_spec.names:
        assert torch.equal(pyramid[name], expected[name])


def test_coarse_features_reach_the_finest_level(
    backbone_and_neck: tuple[TinyBackbone, FPNNeck],
) -> None:
    backbone, neck = backbone_and_neck
    features = {
        name: feature.detach().requires_grad_()
        for name, feature in backbone(torch.randn(1, 3, 64, 96)).items()
    }
    neck(features)["p2"].sum().backward()
    for name, feature in features.items():
        assert feature.grad is not None and feature.grad.abs().sum() > 0, name


def test_missing_level_is_named(backbone_and_neck: tuple[TinyBackbone, FPNNeck]) -> None:
    backbone, neck = backbone_and_neck
    features = backbone(torch.randn(1, 3, 64, 96))
    del features["c4"]
    with pytest.raises(KeyError, match="lacks levels \\['c4'\\]"):
        neck(features)


def test_strides_must_be_powers_of_two() -> None:
    spec = FeatureSpec((FeatureLevel("a", 8, 4), FeatureLevel("b", 8, 12)))
    with pytest.raises(ValueError, match="'b' has stride 12"):
        FPNNeck(spec, CHANNELS)
