"""Uncertainty weighting learns each task's noise variance (Kendall, Gal & Cipolla 2018)."""

from __future__ import annotations

import pytest
import torch
from perception_driving.balancers.uncertainty_weighting import (
    SUMMARY,
    UncertaintyWeighting,
    build_uncertainty,
)
from torch import nn

from perception.errors import ConfigError

NOISE_STDS = {"precise": 0.1, "noisy": 1.0}


class TwoTaskRegression(nn.Module):
    """A shared diagonal linear layer feeding one linear head per task (element-wise products
    instead of matrix products: BLAS threads make tiny matmuls slow on a busy machine)."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Parameter(torch.ones(3))
        self.heads = nn.ParameterDict({name: nn.Parameter(torch.zeros(3)) for name in NOISE_STDS})
        self.biases = nn.ParameterDict({name: nn.Parameter(torch.zeros(())) for name in NOISE_STDS})

    def losses(
        self, inputs: torch.Tensor, targets: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """``inputs`` ``(N, 3)``, ``targets`` ``{task: (N,)}`` -> ``{task: mean squared error}``."""
        features = inputs * self.shared
        return {
            name: ((features * head).sum(1) + self.biases[name] - targets[name]).square().mean()
            for name, head in self.heads.items()
        }


def noisy_regression_data(samples: int = 512) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(N, 3)`` inputs and per task ``(N,)`` linear targets plus Gaussian noise of the task's
    standard deviation."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(samples, 3, generator=generator)
    targets = {}
    for name, std in NOISE_STDS.items():
        slope = torch.randn(3, generator=generator)
        noise = std * torch.randn(samples, generator=generator)
        targets[name] = inputs @ slope + noise
    return inputs, targets


def train(steps: int = 400) -> tuple[UncertaintyWeighting, dict[str, float]]:
    torch.manual_seed(0)
    model = TwoTaskRegression()
    balancer = build_uncertainty(list(NOISE_STDS))
    optimizer = torch.optim.Adam([*model.parameters(), *balancer.parameters()], lr=0.05)
    inputs, targets = noisy_regression_data()
    for _ in range(steps):
        optimizer.zero_grad()
        balancer.backward(model.losses(inputs, targets))
        optimizer.step()
    with torch.no_grad():
        final = {name: float(loss) for name, loss in model.losses(inputs, targets).items()}
    return balancer, final


def test_learned_variances_track_the_task_noise() -> None:
    balancer, residuals = train()
    variances = balancer.variances()
    assert variances["precise"] < variances["noisy"] / 10
    for name, std in NOISE_STDS.items():
        # At the optimum exp(s) equals the mean squared residual, which is the noise variance.
        assert variances[name] == pytest.approx(residuals[name], rel=0.1)
        assert variances[name] == pytest.approx(std**2, rel=0.25)


def test_reported_weights_are_inverse_variances_and_scale_the_gradients() -> None:
    balancer = build_uncertainty(["a", "b"])
    with torch.no_grad():
        balancer.log_variances.copy_(torch.tensor([1.0, -2.0]))
    head_a = nn.Parameter(torch.tensor(2.0))
    head_b = nn.Parameter(torch.tensor(3.0))
    weights = balancer.backward({"a": head_a.square(), "b": head_b.square()})
    assert weights["a"] == pytest.approx(torch.e**-1.0)
    assert weights["b"] == pytest.approx(torch.e**2.0)
    assert head_a.grad is not None and head_b.grad is not None
    assert float(head_a.grad) == pytest.approx(weights["a"] * 2 * 2.0)
    assert float(head_b.grad) == pytest.approx(weights["b"] * 2 * 3.0)
    # d/ds (exp(-s) L + s) = 1 - exp(-s) L
    expected = [1 - weights["a"] * 4.0, 1 - weights["b"] * 9.0]
    assert balancer.log_variances.grad.tolist() == pytest.approx(expected)


def test_an_unlabelled_task_leaves_its_variance_alone_and_grads_finite() -> None:
    balancer = build_uncertainty(["labelled", "empty"])
    shared = nn.Parameter(torch.ones(4))
    head = nn.Parameter(torch.ones(4))
    empty_head = nn.Parameter(torch.ones(4))
    features = shared * 2.0
    losses = {
        "labelled": (features * head).square().mean(),
        "empty": (features * empty_head).sum() * 0.0,
    }
    balancer.backward(losses)
    for parameter in (shared, head, empty_head, balancer.log_variances):
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all()
    assert float(balancer.log_variances.grad[1]) == 0.0
    assert torch.equal(empty_head.grad, torch.zeros(4))


def test_state_dict_round_trip_restores_the_weights() -> None:
    trained, _ = train(steps=50)
    restored = build_uncertainty(list(NOISE_STDS))
    restored.load_state_dict(trained.state_dict())
    losses = {name: torch.tensor(0.5, requires_grad=True) for name in NOISE_STDS}
    weights = restored.backward(losses)
    assert weights != dict.fromkeys(NOISE_STDS, 1.0)
    assert weights == pytest.approx(
        {name: 1 / variance for name, variance in trained.variances().items()}
    )


def test_options_are_validated() -> None:
    assert SUMMARY
    with pytest.raises(ConfigError, match=r"uncertainty.*'temperature'"):
        build_uncertainty(["a"], temperature=2.0)
