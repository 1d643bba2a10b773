"""The built-in ``pedestrian_keypoints`` head: targets, round trip, loss, options, drawing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from perception_driving.heads.pedestrian_keypoints import (
    SUMMARY,
    PedestrianKeypointHead,
    build_pedestrian_keypoints,
)

from perception.data.sample import CATEGORIES, Sample
from perception.errors import ConfigError
from perception.model.feature_spec import FeatureLevel, FeatureSpec
from tests.model.head_fitting import fit_on_fixed_batch

INPUT_SIZE = (64, 96)
SPEC = FeatureSpec((FeatureLevel("p2", 8, 4), FeatureLevel("p3", 8, 8)))
PEDESTRIAN, CAR = CATEGORIES.index("pedestrian"), CATEGORIES.index("car")


def _person(rng: np.random.Generator, box: tuple[float, float, float, float]) -> np.ndarray:
    """17 keypoints (pixel indices) inside ``box``; a few unlabelled (v=0), the rest 1 or 2."""
    x1, y1, x2, y2 = box
    joints = np.zeros((17, 3), dtype=np.float32)
    joints[:, 0] = rng.uniform(x1, x2 - 1, 17)
    joints[:, 1] = rng.uniform(y1, y2 - 1, 17)
    joints[:, 2] = rng.choice([0, 1, 2, 2], 17)
    joints[0, 2] = 2
    return joints


def _scene(seed: int = 0) -> Sample:
    """Two labelled pedestrians, a car, and a pedestrian without any labelled keypoint."""
    rng = np.random.default_rng(seed)
    boxes = np.array(
        [[10, 8, 26, 50], [60.5, 20, 71, 44], [30, 30, 50, 45], [80, 5, 90, 30]], dtype=np.float32
    )
    keypoints = np.zeros((4, 17, 3), dtype=np.float32)
    keypoints[0] = _person(rng, tuple(boxes[0]))
    keypoints[1] = _person(rng, tuple(boxes[1]))
    keypoints[3, :, :2] = 85.0  # positions but visibility 0: not a labelled person
    return Sample(
        image=np.zeros((*INPUT_SIZE, 3), dtype=np.uint8),
        boxes=boxes,
        category=np.array([PEDESTRIAN, PEDESTRIAN, CAR, PEDESTRIAN]),
        light_state=np.full(4, -1),
        occluded=np.zeros(4, dtype=bool),
        truncated=np.zeros(4, dtype=bool),
        keypoints=keypoints,
    )


def _features(batch: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        level.name: torch.randn(
            batch, level.channels, 64 // level.stride, 96 // level.stride, generator=generator
        )
        for level in SPEC.levels
    }


def _stacked(head: PedestrianKeypointHead, samples: list[Sample]) -> dict[str, torch.Tensor]:
    encoded = []
    for sample in samples:
        targets = head.encode_targets(sample)
        assert targets is not None
        encoded.append(targets)
    return {key: torch.from_numpy(np.stack([e[key] for e in encoded])) for key in encoded[0]}


def _perfect_outputs(
    targets: dict[str, torch.Tensor], grid: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """Raw outputs that a perfect network would give for ``targets``."""
    batch = targets["heatmap"].shape[0]
    heat = targets["heatmap"].clamp(1e-4, 1 - 1e-4)
    outputs = {"heatmap": torch.log(heat / (1 - heat))}
    for name, channels in (("size", 2), ("offset", 2), ("joints", 34)):
        flat = torch.zeros(batch, channels, grid[0] * grid[1])
        for image in range(batch):
            for slot in torch.nonzero(targets["mask"][image]).flatten():
                flat[image, :, targets["indices"][image, slot]] = targets[name][image, slot]
        outputs[name] = flat.reshape(batch, channels, *grid)
    return outputs


def test_summary_is_one_line() -> None:
    assert SUMMARY and "\n" not in SUMMARY


def test_targets_cover_only_pedestrians_with_labelled_keypoints() -> None:
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE, max_objects=8)
    scene = _scene()
    encoded = head.encode_targets(scene)
    assert encoded is not None
    assert encoded["heatmap"].shape == (1, 16, 24)
    assert encoded["mask"].tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    assert (encoded["heatmap"] == 1.0).sum() == 2
    assert scene.keypoints is not None
    labelled = np.repeat(scene.keypoints[:2, :, 2] > 0, 2, axis=1)
    np.testing.assert_array_equal(encoded["joint_mask"][:2], labelled)
    assert head.encode_targets(dataclasses.replace(scene, keypoints=None)) is None


def test_extra_people_beyond_max_objects_are_dropped() -> None:
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE, max_objects=1)
    encoded = head.encode_targets(_scene())
    assert encoded is not None
    assert encoded["mask"].tolist() == [1] and (encoded["heatmap"] == 1.0).sum() == 1


def test_perfect_outputs_decode_back_to_the_ground_truth() -> None:
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE, max_detections=5)
    scenes = [_scene(0), _scene(1)]
    targets = _stacked(head, scenes)
    decoded = head.decode(_perfect_outputs(targets, (16, 24)))
    assert decoded["boxes"].shape == (2, 5, 4)
    assert decoded["scores"].shape == (2, 5)
    assert decoded["keypoints"].shape == (2, 5, 17, 3)
    for image, scene in enumerate(scenes):
        scores = decoded["scores"][image]
        assert (scores[:2] > 0.99).all() and (scores[2:] < 0.99).all()
        order = decoded["boxes"][image, :2, 0].argsort()  # people sorted left to right
        boxes = decoded["boxes"][image, :2][order].numpy()
        assert scene.boxes is not None and scene.keypoints is not None
        np.testing.assert_allclose(boxes, scene.boxes[:2], atol=1e-4)
        keypoints = decoded["keypoints"][image, :2][order].numpy()
        truth = scene.keypoints[:2]
        labelled = truth[:, :, 2] > 0
        np.testing.assert_allclose(keypoints[labelled][:, :2], truth[labelled][:, :2], atol=1e-4)
        np.testing.assert_allclose(keypoints[:, :, 2], scores[:2][order, None].expand(2, 17))


def test_perfect_outputs_score_full_oks_ap_in_the_evaluator() -> None:
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE)
    scenes = [_scene(0), _scene(1)]
    decoded = head.decode(_perfect_outputs(_stacked(head, scenes), (16, 24)))
    evaluator = head.evaluator()
    evaluator.update({k: v.numpy() for k, v in decoded.items()}, scenes)
    model = evaluator.compute()["model"]
    assert model == {"oks_ap": pytest.approx(1.0), "oks_ap50": pytest.approx(1.0)}
    assert set(model) == set(head.metric_directions())


def test_loss_is_finite_with_gradients_for_every_branch() -> None:
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE, head_channels=8)
    targets = _stacked(head, [_scene(0), _scene(1)])
    loss = head.loss(head(_features()), targets, torch.tensor([True, False]))
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    for name in ("heatmap", "size", "offset", "joints"):
        grad = getattr(head, name).weight.grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_no_labelled_sample_gives_a_zero_loss_that_backpropagates() -> None:
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE, head_channels=8)
    targets = _stacked(head, [_scene(0), _scene(1)])
    loss = head.loss(head(_features()), targets, torch.zeros(2, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0
    assert all(p.grad is not None and not p.grad.any() for p in head.parameters())
    assert head.loss(head(_features()), {}, torch.zeros(2, dtype=torch.bool)).item() == 0.0


def test_training_steps_on_a_fixed_batch_reduce_the_loss() -> None:
    torch.manual_seed(0)
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE, head_channels=8)
    features = _features()
    targets = _stacked(head, [_scene(0), _scene(1)])
    labelled = torch.ones(2, dtype=torch.bool)
    losses = fit_on_fixed_batch(head, features, targets, labelled, steps=60)
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0]


def test_options_are_validated_with_the_head_name() -> None:
    with pytest.raises(ConfigError, match=r"pedestrian_keypoints.*did you mean 'max_detections'"):
        build_pedestrian_keypoints(SPEC, INPUT_SIZE, max_detection=10)
    with pytest.raises(ConfigError, match="heatmap cells"):
        build_pedestrian_keypoints(SPEC, (8, 8), max_detections=20)
    with pytest.raises(ConfigError, match="max_objects must be positive"):
        build_pedestrian_keypoints(SPEC, INPUT_SIZE, max_objects=0)
    with pytest.raises(ConfigError, match="not a multiple"):
        build_pedestrian_keypoints(SPEC, (62, 96))


def test_draw_only_people_above_the_threshold() -> None:
    head = build_pedestrian_keypoints(SPEC, INPUT_SIZE)
    scene = _scene()
    assert scene.keypoints is not None
    keypoints = np.concatenate([scene.keypoints[:1, :, :2], np.ones((1, 17, 1))], axis=2)
    decoded = {"boxes": scene.boxes[:1], "scores": np.array([0.6]), "keypoints": keypoints}
    image = np.zeros((*INPUT_SIZE, 3), dtype=np.uint8)
    head.draw(image, decoded, score_threshold=0.7)
    assert not image.any()
    head.draw(image, decoded, score_threshold=0.5)
    assert image.any()
    assert head.describe()["keypoint_names"][0] == "nose"


def test_refuses_samples_that_are_not_letterboxed() -> None:
    head = build_pedestrian_keypoints(SPEC, (32, 48))
    with pytest.raises(ValueError, match="letterboxed"):
        head.encode_targets(_scene())
