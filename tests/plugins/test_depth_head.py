"""The built-in ``depth`` head: targets, shapes, loss, decode, options, drawing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from perception_driving.heads.depth import SUMMARY, DepthHead, build_depth

from perception.data.sample import Sample
from perception.errors import ConfigError
from perception.eval.depth_metrics import DepthEvaluator
from perception.model.feature_spec import FeatureLevel, FeatureSpec
from tests.model.head_fitting import fit_on_fixed_batch

INPUT_SIZE = (64, 96)
SPEC = FeatureSpec((FeatureLevel("p2", 8, 4), FeatureLevel("p3", 8, 8), FeatureLevel("p4", 8, 16)))


def _features(batch: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        level.name: torch.randn(
            batch, level.channels, 64 // level.stride, 96 // level.stride, generator=generator
        )
        for level in SPEC.levels
    }


def _depth_sample(depth: np.ndarray | None) -> Sample:
    image = np.zeros((*INPUT_SIZE, 3), dtype=np.uint8)
    return Sample(image=image, depth=depth)


def _ramp_depth() -> np.ndarray:
    """Far at the top, near at the bottom, with an unknown (sky) band."""
    rows = np.linspace(60.0, 3.0, INPUT_SIZE[0], dtype=np.float32)
    depth = np.repeat(rows[:, None], INPUT_SIZE[1], axis=1)
    depth[:8] = 0.0
    return depth


def test_summary_is_one_line() -> None:
    assert SUMMARY and "\n" not in SUMMARY


def test_targets_are_capped_depth_or_none() -> None:
    head = build_depth(SPEC, INPUT_SIZE, max_depth=50.0)
    assert head.encode_targets(_depth_sample(None)) is None
    encoded = head.encode_targets(_depth_sample(_ramp_depth()))
    assert encoded is not None
    target = encoded["depth"]
    assert target.shape == INPUT_SIZE and target.dtype == np.float32
    assert target.max() == 50.0
    np.testing.assert_array_equal(target == 0, _ramp_depth() == 0)


@pytest.mark.parametrize("fuse_coarser", [True, False])
def test_output_and_decode_shapes(fuse_coarser: bool) -> None:
    head = build_depth(SPEC, INPUT_SIZE, fuse_coarser=fuse_coarser, min_depth=1.0, max_depth=80.0)
    outputs = head(_features())
    assert outputs["log_depth"].shape == (2, 1, 16, 24)
    depth_map = head.decode(outputs)["map"]
    assert depth_map.shape == (2, 1, *INPUT_SIZE)
    assert depth_map.min() >= 1.0 and depth_map.max() <= 80.0


def test_initial_prediction_is_the_geometric_middle_of_the_range() -> None:
    head = build_depth(SPEC, INPUT_SIZE, min_depth=1.0, max_depth=100.0).eval()
    depth_map = head.decode(head(_features()))["map"]
    assert depth_map.mean().item() == pytest.approx(10.0, rel=0.05)


def test_no_labelled_sample_gives_a_zero_loss_that_backpropagates() -> None:
    head = build_depth(SPEC, INPUT_SIZE)
    outputs = head(_features())
    targets = {"depth": torch.zeros(2, *INPUT_SIZE)}
    loss = head.loss(outputs, targets, torch.zeros(2, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0
    grads = [p.grad for p in head.parameters()]
    assert all(g is not None and torch.equal(g, torch.zeros_like(g)) for g in grads)
    # a batch where no sample had depth stacks no targets at all
    assert head.loss(head(_features()), {}, torch.zeros(2, dtype=torch.bool)).item() == 0.0


def test_training_steps_on_a_fixed_batch_reduce_the_loss() -> None:
    torch.manual_seed(0)
    head = build_depth(SPEC, INPUT_SIZE, head_channels=8)
    features = _features()
    encoded = head.encode_targets(_depth_sample(_ramp_depth()))
    assert encoded is not None
    targets = {"depth": torch.from_numpy(np.stack([encoded["depth"]] * 2))}
    labelled = torch.tensor([True, False])
    losses = fit_on_fixed_batch(head, features, targets, labelled, steps=30)
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0]


def test_options_are_validated_with_the_head_name() -> None:
    with pytest.raises(ConfigError, match=r"depth.*max_dpth.*did you mean 'max_depth'"):
        build_depth(SPEC, INPUT_SIZE, max_dpth=80.0)
    with pytest.raises(ConfigError, match="min_depth < max_depth"):
        build_depth(SPEC, INPUT_SIZE, min_depth=10.0, max_depth=5.0)
    with pytest.raises(ConfigError, match="max_depth"):
        build_depth(SPEC, INPUT_SIZE, max_depth="far")


def test_evaluator_and_metric_directions_agree() -> None:
    head = build_depth(SPEC, INPUT_SIZE)
    evaluator = head.evaluator()
    assert isinstance(evaluator, DepthEvaluator)
    truth = _ramp_depth()
    evaluator.update({"map": truth[None, None]}, [_depth_sample(truth)])
    assert set(evaluator.compute()["model"]) == set(head.metric_directions())
    assert head.describe()["name"] == "depth"


def test_draw_puts_an_inset_in_the_bottom_right_corner_only() -> None:
    head = build_depth(SPEC, INPUT_SIZE)
    assert isinstance(head, DepthHead)
    image = np.zeros((*INPUT_SIZE, 3), dtype=np.uint8)
    head.draw(image, {"map": _ramp_depth()[None].clip(min=0.5)}, score_threshold=0.5)
    inset_h, inset_w = round(INPUT_SIZE[0] * 0.3), round(INPUT_SIZE[1] * 0.3)
    assert image[-inset_h:, -inset_w:].any()
    assert not image[: -inset_h - 2].any() and not image[:, : -inset_w - 2].any()


def test_refuses_samples_that_are_not_letterboxed() -> None:
    head = build_depth(SPEC, INPUT_SIZE)
    small = Sample(image=np.zeros((32, 48, 3), dtype=np.uint8), depth=np.ones((32, 48), "f4"))
    with pytest.raises(ValueError, match="letterboxed"):
        head.encode_targets(small)
