"""The CenterNet head: shapes, encode -> decode round trip, loss, training, evaluation, drawing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from box_samples import INPUT_SIZE, SPEC, box_sample, unlabelled_sample

from perception.data.draw import STATE_COLOURS
from perception.data.sample import LIGHT_STATES, Sample
from perception.model.centernet_head import CenterNetHead
from perception.model.centernet_targets import BoxAttribute
from tests.model.head_fitting import fit_on_fixed_batch

STATE = BoxAttribute(
    "state", "light_state", LIGHT_STATES, tuple(STATE_COLOURS[s] for s in LIGHT_STATES)
)
LIGHTS = [(8.0, 4.0, 16.0, 22.0), (40.0, 8.0, 50.0, 30.0), (70.0, 30.0, 78.0, 50.0)]


def _head(**kwargs: object) -> CenterNetHead:
    torch.manual_seed(0)
    options: dict[str, object] = {"head_channels": 8, "max_objects": 8, "max_detections": 10}
    options.update(kwargs)
    return CenterNetHead(
        "traffic_lights", SPEC, INPUT_SIZE, ("traffic_light",), (STATE,), **options
    )  # type: ignore[arg-type]


def _features(batch: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return {
        "p2": torch.randn(batch, 8, 16, 24, generator=generator),
        "p3": torch.randn(batch, 8, 8, 12, generator=generator),
    }


def _stack(
    head: CenterNetHead, samples: list[Sample]
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Encode and stack targets as the collate step does: zeros for unlabelled samples."""
    encoded = [head.encode_targets(sample) for sample in samples]
    example = next(item for item in encoded if item is not None)
    targets = {
        key: torch.from_numpy(
            np.stack([np.zeros_like(value) if item is None else item[key] for item in encoded])
        )
        for key, value in example.items()
    }
    return targets, torch.tensor([item is not None for item in encoded])


def _perfect_outputs(head: CenterNetHead, targets: dict[str, torch.Tensor]) -> dict:
    """Raw outputs that agree with the targets exactly at every object centre."""
    heatmap = targets["heatmap"]
    batch, _, height, width = heatmap.shape
    outputs = {"heatmap": heatmap * 20.0 - 10.0}
    for key, channels in (("log_size", 2), ("offset", 2)):
        flat = torch.zeros(batch, channels, height * width)
        index = targets["indices"].unsqueeze(1).expand(batch, channels, -1)
        flat.scatter_(2, index, targets[key].permute(0, 2, 1))
        outputs[key] = flat.reshape(batch, channels, height, width)
    for attribute in head.attributes:
        labels = targets[f"attr_{attribute.name}"]
        flat = torch.zeros(batch, len(attribute.values), height * width)
        for row in range(batch):
            for slot in range(labels.shape[1]):
                if targets["mask"][row, slot] and labels[row, slot] >= 0:
                    flat[row, labels[row, slot], targets["indices"][row, slot]] = 10.0
        outputs[f"attr_{attribute.name}"] = flat.reshape(batch, -1, height, width)
    return outputs


def _light_samples() -> list[Sample]:
    return [
        box_sample(LIGHTS, ["traffic_light"] * 3, [0, 2, 3], image_id="a"),
        box_sample(
            [*LIGHTS[1:], (4.0, 40.0, 20.0, 60.0)],
            ["traffic_light", "car", "traffic_light"],
            [1, -1, 1],
            "b",
        ),
    ]


def test_forward_shapes_and_initial_heatmap_prior() -> None:
    # In eval mode, as at inference: the stem's fresh batch norm (mean 0, variance 1) passes
    # the small initial activations through, so the heatmap bias sets the scores.
    outputs = _head().eval()(_features(2))
    assert outputs["heatmap"].shape == (2, 1, 16, 24)
    assert outputs["log_size"].shape == (2, 2, 16, 24)
    assert outputs["offset"].shape == (2, 2, 16, 24)
    assert outputs["attr_state"].shape == (2, 4, 16, 24)
    assert torch.sigmoid(outputs["heatmap"]).mean().item() == pytest.approx(0.1, abs=0.03)


def test_encode_then_decode_gives_back_the_boxes() -> None:
    head = _head()
    samples = _light_samples()
    targets, _ = _stack(head, samples)
    decoded = head.decode(_perfect_outputs(head, targets))
    assert decoded["boxes"].shape == (2, 10, 4)
    assert decoded["scores"].shape == (2, 10)
    assert decoded["state_scores"].shape == (2, 10, 4)
    assert decoded["classes"].dtype == torch.int64 and decoded["state"].dtype == torch.int64
    for row, sample in enumerate(samples):
        lights = sample.category == 2
        count = int(lights.sum())
        assert (decoded["scores"][row, :count] > 0.99).all()
        assert (decoded["scores"][row, count:] < 0.01).all()
        order = np.argsort(decoded["boxes"][row, :count, 0].numpy())
        truth = np.argsort(sample.boxes[lights, 0])
        np.testing.assert_allclose(
            decoded["boxes"][row, :count].numpy()[order], sample.boxes[lights][truth], atol=1e-4
        )
        np.testing.assert_array_equal(
            decoded["state"][row, :count].numpy()[order], sample.light_state[lights][truth]
        )


def test_decode_clips_boxes_to_the_image_and_caps_k() -> None:
    head = _head(max_detections=1000)
    outputs = head(_features(1))
    outputs["log_size"] = outputs["log_size"] + 50.0
    decoded = head.decode(outputs)
    assert decoded["boxes"].shape == (1, 16 * 24, 4)
    boxes = decoded["boxes"]
    assert torch.isfinite(boxes).all()
    assert boxes[..., 0::2].min() >= 0 and boxes[..., 0::2].max() <= INPUT_SIZE[1]
    assert boxes[..., 1::2].min() >= 0 and boxes[..., 1::2].max() <= INPUT_SIZE[0]


def test_loss_is_finite_and_reaches_every_output() -> None:
    head = _head()
    targets, labelled = _stack(head, _light_samples())
    outputs = head(_features(2))
    for value in outputs.values():
        value.retain_grad()
    loss = head.loss(outputs, targets, labelled)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    for name, value in outputs.items():
        assert value.grad is not None and value.grad.abs().sum() > 0, name


def test_perfect_outputs_cost_almost_nothing() -> None:
    head = _head()
    targets, labelled = _stack(head, _light_samples())
    random = head.loss(head(_features(2)), targets, labelled)
    perfect = head.loss(_perfect_outputs(head, targets), targets, labelled)
    assert perfect.item() < 0.01 * random.item()


def test_no_labelled_sample_gives_an_exact_zero_with_gradients() -> None:
    head = _head()
    targets, _ = _stack(head, [_light_samples()[0], unlabelled_sample()])
    outputs = head(_features(2))
    loss = head.loss(outputs, targets, torch.zeros(2, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()
    assert all(p.grad is not None for p in head.parameters())


def test_unlabelled_samples_do_not_change_the_loss() -> None:
    head = _head()
    samples = [_light_samples()[0], unlabelled_sample()]
    targets, labelled = _stack(head, samples)
    features = _features(2)
    outputs = head(features)
    both = head.loss(outputs, targets, labelled)
    first = {key: value[:1] for key, value in outputs.items()}
    alone = head.loss(first, {key: value[:1] for key, value in targets.items()}, labelled[:1])
    assert both.item() == pytest.approx(alone.item(), rel=1e-6)


def test_a_few_steps_on_a_fixed_batch_reduce_the_loss() -> None:
    head = _head()
    targets, labelled = _stack(head, _light_samples())
    features = _features(2)
    losses = fit_on_fixed_batch(head, features, targets, labelled, steps=30)
    assert losses[-1] < 0.5 * losses[0]


def test_evaluator_scores_perfect_outputs_as_perfect() -> None:
    head = _head()
    samples = _light_samples()
    targets, _ = _stack(head, samples)
    decoded = head.decode(_perfect_outputs(head, targets))
    evaluator = head.evaluator()
    for sample in samples:
        evaluator.observe_training_sample(sample)
    evaluator.update({k: v.numpy() for k, v in decoded.items()}, samples)
    metrics = evaluator.compute()
    assert set(metrics["model"]) == set(head.metric_directions()) == set(metrics["baseline"])
    assert metrics["model"]["AP"] == pytest.approx(1.0)
    assert metrics["model"]["state_accuracy"] == 1.0
    assert metrics["baseline"]["AP"] < 0.5


def test_metric_directions_and_describe() -> None:
    head = _head()
    assert head.metric_directions() == {
        "AP": "higher",
        "AP50": "higher",
        "state_accuracy": "higher",
    }
    facts = head.describe()
    assert facts["classes"] == ["traffic_light"]
    assert facts["attributes"]["state"]["values"] == list(LIGHT_STATES)
    decoded = head.decode(head(_features(1)))
    assert sorted(facts["outputs"]) == sorted(decoded)


def test_draw_only_boxes_above_the_threshold_in_the_state_colour() -> None:
    head = _head()
    decoded = {
        "boxes": np.array([[10.0, 20.0, 30.0, 50.0], [50.0, 20.0, 80.0, 50.0]]),
        "scores": np.array([0.9, 0.1]),
        "classes": np.array([0, 0]),
        "state": np.array([2, 0]),
        "state_scores": np.full((2, 4), 0.25),
    }
    image = np.zeros((*INPUT_SIZE, 3), dtype=np.uint8)
    head.draw(image, decoded, score_threshold=0.5)
    assert tuple(image[35, 10]) == STATE_COLOURS["green"]
    assert image[20:, 45:].max() == 0


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="categories"):
        CenterNetHead("x", SPEC, INPUT_SIZE, ("bicycle",))
