"""Lookahead inter-task affinity: its sign on hand-made tasks, and an untouched training state."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from perception.balancing.affinity import (
    AffinityAverage,
    lookahead_affinity,
    read_affinity,
    write_affinity,
)
from perception.errors import MalformedFileError, MissingFileError

LR = 0.1


class PullOnAScalar(nn.Module):
    """Tasks pulling a shared scalar ``w`` (start 0) towards their targets:
    ``L_i = head_i * (w - target_i)^2`` with ``head_i = 1``. The forward also runs dropout and a
    BatchNorm on a fixed batch, so every forward draws random numbers and updates running
    statistics (buffers) as a real network does in training."""

    def __init__(self, targets: dict[str, float]) -> None:
        super().__init__()
        self.targets = targets
        self.w = nn.Parameter(torch.zeros(()))
        self.heads = nn.ParameterDict({name: nn.Parameter(torch.ones(())) for name in targets})
        self.norm = nn.BatchNorm1d(1)
        self.register_buffer("inputs", torch.tensor([[1.0], [2.0], [4.0]]))

    def forward(self) -> dict[str, torch.Tensor]:
        self.norm(nn.functional.dropout(self.inputs, p=0.5, training=self.training))
        return {
            name: self.heads[name] * (self.w - target).square()
            for name, target in self.targets.items()
        }


def affinity_of(model: PullOnAScalar) -> torch.Tensor:
    losses = model()
    return lookahead_affinity(model, losses, model, [model.w], LR, list(model.targets))


def expected(target_step: float, target_measured: float) -> float:
    """``1 - L_j(after) / L_j(before)`` for one SGD step on ``(w - t_i)^2`` from ``w = 0``."""
    after_step = 0.0 - LR * 2.0 * (0.0 - target_step)
    return 1.0 - (after_step - target_measured) ** 2 / target_measured**2


def test_tasks_pulling_apart_have_negative_affinity_both_ways() -> None:
    z = affinity_of(PullOnAScalar({"a": 1.0, "b": -1.0}))
    assert z[0, 1] < 0 and z[1, 0] < 0
    assert z[0, 1].item() == pytest.approx(expected(1.0, -1.0))
    assert z[0, 0] > 0 and z[1, 1] > 0  # a step on a task helps that task
    assert z[0, 0].item() == pytest.approx(expected(1.0, 1.0))


def test_aligned_tasks_have_positive_affinity() -> None:
    z = affinity_of(PullOnAScalar({"a": 1.0, "b": 2.0}))
    assert (z > 0).all()
    assert z[1, 0].item() == pytest.approx(expected(2.0, 1.0))


def test_a_task_without_labels_gets_nan_in_its_row_and_column() -> None:
    model = PullOnAScalar({"a": 1.0, "b": -1.0})
    losses = model()
    losses["c"] = model.w * 0.0

    def recompute() -> dict[str, torch.Tensor]:
        return {**model(), "c": model.w * 0.0}

    z = lookahead_affinity(model, losses, recompute, [model.w], LR, ["a", "b", "c"])
    assert torch.isnan(z[2]).all() and torch.isnan(z[:, 2]).all()
    assert torch.isfinite(z[:2, :2]).all()


def test_the_lookahead_leaves_parameters_buffers_grads_rng_and_graph_untouched() -> None:
    model = PullOnAScalar({"a": 1.0, "b": -3.0})
    model.w.data.fill_(0.5)
    losses = model()
    parameters = {name: p.detach().clone() for name, p in model.named_parameters()}
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    rng = torch.get_rng_state()

    lookahead_affinity(model, losses, model, [model.w], LR, ["a", "b"])

    for name, p in model.named_parameters():
        assert torch.equal(p, parameters[name]), name
        assert p.grad is None, name
    for name, b in model.named_buffers():
        assert torch.equal(b, buffers[name]), name
    assert torch.equal(torch.get_rng_state(), rng)
    # The step's graph is still valid: the backward gives the plain gradient at w = 0.5.
    sum(losses.values()).backward()
    assert model.w.grad.item() == pytest.approx(2 * (0.5 - 1.0) + 2 * (0.5 + 3.0))


def test_the_average_ignores_unmeasured_entries_and_warns_about_negative_pairs() -> None:
    average = AffinityAverage(["a", "b"])
    average.add(torch.tensor([[0.5, -0.2], [0.1, math.nan]], dtype=torch.float64))
    average.add(torch.tensor([[0.3, -0.4], [0.3, 0.2]], dtype=torch.float64))
    result = average.result()
    assert result.steps == 2
    assert result.counts == [[2, 2], [2, 1]]
    assert result.mean[0][1] == pytest.approx(-0.3) and result.mean[1][1] == pytest.approx(0.2)
    assert [(s, t) for s, t, _, _ in result.negative_pairs()] == [("a", "b")]
    (warning,) = result.warnings()
    assert warning.startswith("task a hurts task b") and "-0.3" in warning


def test_affinity_json_round_trips_and_bad_files_are_named(tmp_path: Path) -> None:
    average = AffinityAverage(["a", "b"])
    average.add(torch.tensor([[0.5, -0.2], [math.nan, 0.1]], dtype=torch.float64))
    path = write_affinity(average.result(), tmp_path / "affinity.json")
    back = read_affinity(path)
    assert back.tasks == ["a", "b"] and back.steps == 1 and back.counts == [[1, 1], [0, 1]]
    assert back.mean[0][1] == pytest.approx(-0.2) and math.isnan(back.mean[1][0])
    with pytest.raises(MissingFileError, match=r"nowhere\.json"):
        read_affinity(tmp_path / "nowhere.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"tasks": ["a"]}')
    with pytest.raises(MalformedFileError, match=r"bad\.json"):
        read_affinity(bad)
