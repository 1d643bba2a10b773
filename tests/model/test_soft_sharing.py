"""Soft parameter sharing: the cross-stitch unit, the L2 tie, the model and its training."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from torch import nn

from perception.config.schema import RunConfig
from perception.data.loader import Batch, make_loader
from perception.errors import ConfigError
from perception.eval.evaluate import evaluate
from perception.model import build as build_module
from perception.model.backbones import TinyBackbone
from perception.model.build import PerceptionModel, build_model
from perception.model.cross_stitch import CrossStitch
from perception.model.feature_spec import FeatureSpec
from perception.model.l2_tie import pairwise_squared_distance
from perception.model.multitask import MultiTaskModel
from perception.model.neck import FPNNeck
from perception.model.soft_sharing import SoftSharingModel
from perception.model.task_head import TaskHead
from perception.model.task_targets import TargetEncoder
from perception.plugins import get_plugin_manager
from perception.train.checkpoint import check_compatible, load_checkpoint, model_from_checkpoint
from perception.train.components import build_balancer, build_dataset, build_optimizer
from perception.train.trainer import TrainResult, train
from tests.train.tiny_run import tiny_config

TIES = ("cross_stitch", "l2")
TWO_HEADS = "model.heads=[cars, depth]"
HEIGHT, WIDTH = 96, 160


def soft_config(tmp_path: Path, tie: str, *overrides: str) -> RunConfig:
    return tiny_config(tmp_path, "model.sharing=soft", f"model.soft_tie={tie}", *overrides)


def images(batch: int = 2, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, 3, HEIGHT, WIDTH), dtype=torch.uint8, generator=generator)


def first_batch(config: RunConfig, model: PerceptionModel) -> Batch:
    loader = make_loader(
        build_dataset(config, config.data.split),
        config.data,
        train=True,
        seed=config.seed,
        target_encoder=TargetEncoder(model.heads),
    )
    return next(iter(loader))


def trunk_loss(features: dict[str, dict[str, torch.Tensor]], task: str) -> torch.Tensor:
    """A loss that depends on ``task``'s neck features only."""
    return torch.stack([level.square().mean() for level in features[task].values()]).sum()


# --- the cross-stitch unit ---------------------------------------------------------------


def test_identity_stitch_passes_every_task_through_exactly() -> None:
    unit = CrossStitch(num_tasks=3, channels=5, self_weight=1.0)
    maps = [torch.randn(2, 5, 4, 6) for _ in range(3)]
    for mixed, original in zip(unit(maps), maps, strict=True):
        assert torch.equal(mixed, original)


def test_stitch_starts_mostly_on_the_task_itself() -> None:
    unit = CrossStitch(num_tasks=3, channels=4)
    maps = [torch.randn(2, 4, 3, 3) for _ in range(3)]
    mixed = unit(maps)
    torch.testing.assert_close(mixed[0], 0.9 * maps[0] + 0.05 * maps[1] + 0.05 * maps[2])
    torch.testing.assert_close(unit.alpha.sum(dim=1), torch.ones(3, 4))


def test_stitch_mixes_each_channel_with_its_own_weights() -> None:
    unit = CrossStitch(num_tasks=2, channels=2, self_weight=1.0)
    with torch.no_grad():
        unit.alpha[0, 1, 1] = 0.5  # only channel 1 of task 0 takes from task 1
    first, second = torch.randn(1, 2, 3, 3), torch.randn(1, 2, 3, 3)
    mixed = unit([first, second])[0]
    assert torch.equal(mixed[:, 0], first[:, 0])
    torch.testing.assert_close(mixed[:, 1], first[:, 1] + 0.5 * second[:, 1])


def test_stitch_refuses_the_wrong_number_of_tasks() -> None:
    with pytest.raises(ValueError, match="expected 2 feature maps, got 3"):
        CrossStitch(2, 4)([torch.zeros(1, 4, 2, 2)] * 3)
    with pytest.raises(ValueError, match="self_weight"):
        CrossStitch(2, 4, self_weight=1.5)


# --- the model ---------------------------------------------------------------------------


def independent_model(tie: str, self_weight: float) -> tuple[SoftSharingModel, list[nn.Module]]:
    """A soft model over two tiny backbones with different weights, and copies of the two
    (backbone, neck) pairs to run on their own."""
    torch.manual_seed(0)
    backbones = {name: TinyBackbone(width=4) for name in ("a", "b")}
    necks = {name: FPNNeck(backbones[name].feature_spec, 8) for name in backbones}
    spec = next(iter(necks.values())).feature_spec
    heads = {name: depth_head(name, spec) for name in backbones}
    alone = [copy.deepcopy(nn.Sequential(backbones[n], necks[n])) for n in backbones]
    model = SoftSharingModel(backbones, necks, heads, tie=tie, stitch_self_weight=self_weight)
    return model.eval(), alone


def depth_head(name: str, spec: FeatureSpec) -> TaskHead:
    """The registered depth head, built for ``spec`` and called ``name``."""
    head = (
        get_plugin_manager()
        .heads.get("depth")
        .factory(feature_spec=spec, input_size=(HEIGHT, WIDTH))
    )
    head.name = name
    return head


@pytest.mark.parametrize("tie", TIES)
def test_identity_ties_give_exactly_the_independent_networks_features(tie: str) -> None:
    model, alone = independent_model(tie, self_weight=1.0)
    batch = images()
    with torch.no_grad():
        features = model.features(batch)
        normalized = model.normalize(batch)
        for name, network in zip(("a", "b"), alone, strict=True):
            expected = network.eval()(normalized)
            assert list(features[name]) == list(expected)
            for level, value in expected.items():
                assert torch.equal(features[name][level], value), (name, level)


def test_stitched_features_differ_from_the_independent_ones() -> None:
    model, alone = independent_model("cross_stitch", self_weight=0.9)
    batch = images()
    with torch.no_grad():
        stitched = model.features(batch)["a"]["p2"]
        independent = alone[0].eval()(model.normalize(batch))["p2"]
    assert not torch.allclose(stitched, independent)


def test_gradient_reaches_the_stitch_weights_and_the_other_tasks_backbone() -> None:
    model, _ = independent_model("cross_stitch", self_weight=0.9)
    model.train()
    trunk_loss(model.features(images()), "a").backward()
    for level, unit in model.stitches.items():
        assert unit.alpha.grad is not None, level
        assert unit.alpha.grad.abs().sum(dim=(1, 2)).gt(0).tolist() == [
            True,
            level != "c5",  # task b's mix feeds task a only through a later stage
        ], level
    other = [p for p in model.backbones["b"].parameters() if p.grad is not None]
    assert other and all(p.grad.abs().sum() > 0 for p in other)
    assert all(p.grad is None for p in model.necks["b"].parameters())


def test_without_stitches_a_task_reaches_only_its_own_backbone() -> None:
    model, _ = independent_model("l2", self_weight=0.9)
    model.train()
    trunk_loss(model.features(images()), "a").backward()
    assert all(p.grad is not None for p in model.backbones["a"].parameters())
    assert all(p.grad is None for p in model.backbones["b"].parameters())
    assert len(model.stitches) == 0


class WholeOnly(nn.Module):
    """A backbone that runs only as a whole (no ``forward_stage``), like a plugin might."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = TinyBackbone(width=4)
        self.feature_spec = self.inner.feature_spec

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.inner(x)


def test_cross_stitch_needs_stage_wise_backbones() -> None:
    backbones = {"a": WholeOnly()}
    necks = {"a": FPNNeck(backbones["a"].feature_spec, 8)}
    heads = {"a": depth_head("a", necks["a"].feature_spec)}
    with pytest.raises(ValueError, match=r"forward_stage; \['a'\] lack it"):
        SoftSharingModel(backbones, necks, heads, tie="cross_stitch")
    assert SoftSharingModel(backbones, necks, heads, tie="l2").tie == "l2"


# --- the L2 tie --------------------------------------------------------------------------


def test_l2_distance_is_zero_for_identical_networks_and_sums_the_pairs() -> None:
    torch.manual_seed(0)
    first = TinyBackbone(width=4)
    copies = [copy.deepcopy(first) for _ in range(2)]
    assert pairwise_squared_distance([first, *copies]).item() == 0.0
    with torch.no_grad():
        copies[1].stem[0].weight.add_(0.1)
    moved = copies[1].stem[0].weight.numel() * 0.1**2
    # The moved network is 0.1 away (per element) from each of the two others.
    torch.testing.assert_close(pairwise_squared_distance([first, *copies]).item(), 2 * moved)


def test_l2_gradient_pulls_the_networks_together() -> None:
    torch.manual_seed(0)
    networks = [TinyBackbone(width=4), TinyBackbone(width=4)]
    weight = networks[0].stem[0].weight
    difference = (weight - networks[1].stem[0].weight).detach()
    distance = pairwise_squared_distance(networks)
    distance.backward()
    torch.testing.assert_close(weight.grad, 2 * difference)
    torch.testing.assert_close(networks[1].stem[0].weight.grad, -2 * difference)
    with torch.no_grad():
        for network in networks:
            for parameter in network.parameters():
                parameter -= 0.1 * parameter.grad
    assert pairwise_squared_distance(networks) < distance.detach()


def test_l2_distance_refuses_different_architectures() -> None:
    with pytest.raises(ValueError, match="same parameter names and shapes"):
        pairwise_squared_distance([TinyBackbone(width=4), TinyBackbone(width=8)])


# --- building from the config ------------------------------------------------------------


@pytest.mark.parametrize("tie", TIES)
def test_build_model_builds_one_identical_backbone_per_head(tie: str, tmp_path: Path) -> None:
    model = build_model(soft_config(tmp_path, tie, TWO_HEADS, "model.soft_l2_weight=0.5"))
    assert isinstance(model, SoftSharingModel) and model.tie == tie
    assert list(model.backbones) == list(model.necks) == model.head_names == ["cars", "depth"]
    first, second = (b.state_dict() for b in model.backbones.values())
    assert all(torch.equal(first[key], second[key]) for key in first)
    penalty = model.regularization_loss()
    assert penalty.item() == 0.0
    assert penalty.requires_grad == (tie == "l2")
    assert len(model.stitches) == (4 if tie == "cross_stitch" else 0)
    if tie == "l2":
        assert model.l2_weight == 0.5


def test_weight_decay_spares_the_stitch_weights_but_not_the_convolutions(tmp_path: Path) -> None:
    config = soft_config(tmp_path, "cross_stitch", TWO_HEADS)
    model = build_model(config)
    optimizer = build_optimizer(model, build_balancer(config, model.head_names), config)
    decayed, spared = ({id(p) for p in group["params"]} for group in optimizer.param_groups)
    assert [group["weight_decay"] for group in optimizer.param_groups] == [
        config.train.weight_decay, 0.0
    ]  # fmt: skip
    alphas = {id(stitch.alpha) for stitch in model.stitches.values()}
    assert alphas and alphas <= spared and not alphas & decayed
    convolutions = {id(m.weight) for m in model.modules() if isinstance(m, nn.Conv2d)}
    assert convolutions and convolutions <= decayed
    assert decayed | spared == {id(p) for p in model.parameters()}


def test_hard_model_has_an_exact_zero_regularization_loss(tmp_path: Path) -> None:
    model = build_model(tiny_config(tmp_path, TWO_HEADS))
    assert isinstance(model, MultiTaskModel)
    penalty = model.regularization_loss()
    assert penalty.shape == () and penalty.item() == 0.0 and not penalty.requires_grad


def test_bad_soft_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model.sharing.*'hard', 'soft'.*'medium'"):
        tiny_config(tmp_path, "model.sharing=medium")
    with pytest.raises(ConfigError, match=r"model.soft_tie.*'cross_stitch', 'l2'"):
        tiny_config(tmp_path, "model.soft_tie=glue")
    with pytest.raises(ConfigError, match=r"model.soft_l2_weight must be >= 0"):
        build_model(soft_config(tmp_path, "l2", "model.soft_l2_weight=-1"))


def test_cross_stitch_over_a_whole_only_backbone_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "_build_backbone", lambda config: WholeOnly())
    with pytest.raises(ConfigError, match=r"backbone 'tiny' has none\. Use model.soft_tie=l2"):
        build_model(soft_config(tmp_path, "cross_stitch", TWO_HEADS))
    assert isinstance(build_model(soft_config(tmp_path, "l2", TWO_HEADS)), SoftSharingModel)


@pytest.mark.parametrize("tie", TIES)
def test_soft_model_has_the_hard_models_interface(tie: str, tmp_path: Path) -> None:
    hard = build_model(tiny_config(tmp_path, TWO_HEADS))
    soft = build_model(soft_config(tmp_path, tie, TWO_HEADS))
    assert soft.head_names == hard.head_names
    assert soft.feature_spec == hard.feature_spec
    batch = first_batch(tiny_config(tmp_path, TWO_HEADS, "data.num_images=4"), hard)
    hard.train()
    soft.train()
    hard_losses = hard(batch.images, batch.targets.targets, batch.targets.labelled)
    soft_losses = soft(batch.images, batch.targets.targets, batch.targets.labelled)
    assert list(soft_losses) == list(hard_losses)
    assert all(loss.shape == () and torch.isfinite(loss) for loss in soft_losses.values())
    hard.eval()
    soft.eval()
    with torch.no_grad():
        hard_out, soft_out = hard(images()), soft(images())
    for task, outputs in hard_out.items():
        assert {k: v.shape for k, v in soft_out[task].items()} == {
            k: v.shape for k, v in outputs.items()
        }, task

    head_ids = {id(p) for _, head in soft.task_heads() for p in head.parameters()}
    shared = {id(p) for p in soft.shared_parameters()}
    last = {id(p) for p in soft.last_shared_parameters()}
    assert shared and not shared & head_ids and last <= shared
    assert shared | head_ids == {id(p) for p in soft.parameters()}


# --- training and evaluating with the real trainer ---------------------------------------


Trained = tuple[str, RunConfig, TrainResult, SoftSharingModel]
"""The tie, the config, the result of two training steps, and the model before them."""


@pytest.fixture(scope="module", params=TIES)
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    tie = request.param
    out = tmp_path_factory.mktemp(f"soft_{tie}")
    config = soft_config(
        out,
        tie,
        "train.max_steps=2",
        "data.num_images=8",
        "data.val_num_images=4",
        "eval.baseline_images=4",
        "data.augment.enabled=false",
    )
    initial = build_model(config)
    assert isinstance(initial, SoftSharingModel)
    return tie, config, train(config, out, progress=False), initial


def test_soft_model_trains_with_the_real_trainer(trained: Trained) -> None:
    tie, config, result, initial = trained
    assert result.steps == 2
    model = result.model
    assert isinstance(model, SoftSharingModel)
    if tie == "cross_stitch":
        moved = [
            level
            for level, unit in model.stitches.items()
            if not torch.equal(unit.alpha, initial.stitches[level].alpha)
        ]
        assert moved == list(model.stitches)
    # Every backbone started from the same weights; each task's own gradients moved them apart.
    assert pairwise_squared_distance(list(model.backbones.values())).item() > 0.0
    assert list(model.backbones) == list(config.model.heads)


def test_soft_checkpoint_evaluates_every_head(trained: Trained) -> None:
    _, config, result, _ = trained
    restored = model_from_checkpoint(load_checkpoint(result.checkpoint))
    assert isinstance(restored, SoftSharingModel) and restored.tie == result.model.tie
    with torch.no_grad():
        expected, got = result.model.eval()(images()), restored(images())
    assert list(got) == list(config.model.heads)
    for task, outputs in expected.items():
        for key, value in outputs.items():
            assert torch.equal(value, got[task][key]), f"{task}.{key}"
    scored = evaluate(restored, config, torch.device("cpu"), progress=False)
    assert list(scored.metrics) == list(config.model.heads)
    assert scored.images == config.data.val_num_images


def test_resuming_with_other_sharing_is_refused(trained: Trained, tmp_path: Path) -> None:
    tie, _, result, _ = trained
    checkpoint = load_checkpoint(result.checkpoint)
    other_tie = next(other for other in TIES if other != tie)
    for overrides, asked in [
        ((), "hard sharing"),
        (("model.sharing=soft", f"model.soft_tie={other_tie}"), f"soft sharing \\({other_tie}\\)"),
    ]:
        with pytest.raises(
            ConfigError,
            match=rf"trained with soft sharing \({tie}\), but the config asks for {asked}",
        ):
            check_compatible(checkpoint, tiny_config(tmp_path, *overrides))
