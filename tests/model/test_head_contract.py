"""Every registered head passes the same contract test (in the manner of timm's registry tests)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception.data.letterbox import letterbox
from perception.data.sample import Sample
from perception.model.feature_spec import FeatureLevel, FeatureSpec
from perception.model.task_head import TaskEvaluator, TaskHead
from perception.model.task_targets import TargetEncoder
from perception.plugins import get_plugin_manager
from tests.train.tiny_run import synthetic_samples

HEIGHT, WIDTH = 96, 160
SPEC = FeatureSpec(tuple(FeatureLevel(f"p{i}", 8, 2**i) for i in range(2, 6)))
HEAD_NAMES = sorted(get_plugin_manager().heads.names())


def build_head(name: str) -> TaskHead:
    record = get_plugin_manager().heads.get(name)
    return record.factory(feature_spec=SPEC, input_size=(HEIGHT, WIDTH))


def features(batch: int, requires_grad: bool = False) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        level.name: torch.randn(
            batch, 8, HEIGHT // level.stride, WIDTH // level.stride, generator=generator
        ).requires_grad_(requires_grad)
        for level in SPEC.levels
    }


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return [letterbox(s, HEIGHT, WIDTH) for s in synthetic_samples(4, HEIGHT, WIDTH)]


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_head_contract(name: str, samples: list[Sample]) -> None:
    head = build_head(name)
    assert isinstance(head, TaskHead)
    encoded = TargetEncoder({name: head})(samples)
    targets, labelled = encoded.targets[name], encoded.labelled[name]
    assert labelled.all(), f"{name}: synthetic samples carry every label group"

    feats = features(len(samples), requires_grad=True)
    outputs = head(feats)
    for key, value in outputs.items():
        assert value.shape[0] == len(samples), key
        assert torch.isfinite(value).all(), key

    loss = head.loss(outputs, targets, labelled)
    assert loss.ndim == 0 and torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    grads = [feats[level].grad for level in feats if feats[level].grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads), f"{name}: no gradient reaches features"

    head.eval()
    with torch.no_grad():
        decoded_a = head.decode(head(features(2)))
        decoded_b = head.decode(head(features(3)))
    assert decoded_a.keys() == decoded_b.keys() and decoded_a
    for key in decoded_a:
        assert decoded_a[key].shape[1:] == decoded_b[key].shape[1:], f"{name}.{key} not fixed"
        assert decoded_a[key].shape[0] == 2 and decoded_b[key].shape[0] == 3

    directions = head.metric_directions()
    assert directions and set(directions.values()) <= {"higher", "lower"}
    assert isinstance(head.evaluator(), TaskEvaluator)


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_unlabelled_samples_give_zero_loss(name: str, samples: list[Sample]) -> None:
    head = build_head(name)
    encoded = TargetEncoder({name: head})(samples)
    feats = features(len(samples), requires_grad=True)
    outputs = head(feats)
    nobody = torch.zeros(len(samples), dtype=torch.bool)
    loss = head.loss(outputs, encoded.targets[name], nobody)
    assert loss.item() == 0.0
    loss.backward()  # still connected to the graph

    # One labelled sample: the loss must not depend on what the unlabelled rows contain.
    only_first = torch.tensor([True] + [False] * (len(samples) - 1))
    first = head.loss(outputs, encoded.targets[name], only_first)
    scrambled = {
        key: torch.cat([value[:1], value[1:].flip(0)]) if value.ndim else value
        for key, value in encoded.targets[name].items()
    }
    assert torch.allclose(first, head.loss(outputs, scrambled, only_first))


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_head_skips_samples_without_its_labels(name: str, samples: list[Sample]) -> None:
    head = build_head(name)
    bare = Sample(image=samples[0].image, image_id="unlabelled")
    assert head.encode_targets(bare) is None
    encoded = TargetEncoder({name: head})([samples[0], bare])
    assert encoded.labelled[name].tolist() == [True, False]
    for value in encoded.targets[name].values():
        assert not np.any(value[1].numpy()), "unlabelled rows are zeros"
