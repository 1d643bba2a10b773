"""BufferAdam takes the steps torch's Adam takes and resumes from its buffers."""

from __future__ import annotations

import torch
from torch import nn

from perception.balancing.buffer_adam import BufferAdam


def gradients(count: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [10 * torch.randn(4, generator=generator) for _ in range(count)]


def test_steps_match_torch_adam_on_the_same_gradients() -> None:
    start = torch.tensor([0.5, -1.0, 2.0, 0.0])
    vector = start.clone()
    reference = nn.Parameter(start.clone())
    optimizer = torch.optim.Adam([reference], lr=0.05)
    adam = BufferAdam(4, lr=0.05)
    for gradient in gradients(20):
        vector -= adam.step(gradient)
        reference.grad = gradient.clone()
        optimizer.step()
    assert torch.allclose(vector, reference.detach(), atol=1e-6)
    assert not torch.allclose(vector, start)
    assert int(adam.steps) == 20


def test_state_dict_round_trip_continues_identically() -> None:
    *history, following = gradients(5)
    trained = BufferAdam(4, lr=0.1)
    for gradient in history:
        trained.step(gradient)
    resumed = BufferAdam(4, lr=0.1)
    resumed.load_state_dict(trained.state_dict())
    assert set(trained.state_dict()) == {"first", "second", "steps"}
    assert list(trained.parameters()) == []
    assert torch.equal(resumed.step(following), trained.step(following))
