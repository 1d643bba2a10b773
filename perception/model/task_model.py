"""What every multi-task model shares: the named heads and the input normalisation.

:class:`~perception.model.multitask.MultiTaskModel` (hard sharing) and
:class:`~perception.model.soft_sharing.SoftSharingModel` both build on :class:`TaskModel`; the
trainer, evaluator and report only use the members defined here plus ``forward``,
``shared_parameters``, ``last_shared_parameters`` and ``feature_spec``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn

from perception.model.task_head import TaskHead

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class TaskModel(nn.Module):
    """Holds ``heads`` (an ``nn.ModuleDict`` in task order) and the ImageNet pixel statistics.

    Args:
        heads: task heads by name; at least one.
    """

    def __init__(self, heads: Mapping[str, TaskHead]) -> None:
        super().__init__()
        if not heads:
            raise ValueError("a multi-task model needs at least one head")
        self.heads = nn.ModuleDict(dict(heads))
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0
        self.register_buffer("pixel_mean", mean, persistent=False)
        self.register_buffer("pixel_std", std, persistent=False)

    @property
    def head_names(self) -> list[str]:
        return list(self.heads.keys())

    def task_heads(self) -> Iterator[tuple[str, TaskHead]]:
        for name, head in self.heads.items():
            assert isinstance(head, TaskHead)
            yield name, head

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in ``[0, 255]`` (uint8 or float) -> ImageNet-normalised, computed in
        float32 and returned in the model's dtype (float16 for a half-precision export)."""
        mean, std = self.pixel_mean.float(), self.pixel_std.float()
        return ((images.float() - mean) / std).to(self.pixel_mean.dtype)

    def regularization_loss(self) -> torch.Tensor:
        """Loss terms that tie parameters rather than fit data; none by default, so an exact zero
        scalar not connected to any parameter (the trainer backpropagates it only when it has a
        gradient)."""
        return torch.zeros((), device=self.pixel_mean.device)
