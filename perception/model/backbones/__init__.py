"""Backbones: CNN trunks that turn normalised images into multi-scale feature maps.

Every backbone module has a ``feature_spec`` (levels ``c2`` .. ``c5`` at strides 4, 8, 16, 32)
and maps ``(B, 3, H, W)`` images to a dict of feature maps keyed by level name. Plugins register
them by name; :class:`WeightsFile` loads local weight files into them.

A backbone may also offer ``forward_stage(index, x)``: run only the layers from level
``index - 1`` (or, for ``index`` 0, from the images) to level ``index``, so that ``forward`` is
the stages chained. Soft sharing's cross-stitch units need it to mix the task networks'
features between levels; every built-in backbone is a :class:`StagedBackbone`, which derives
``forward`` from it.
"""

from perception.model.backbones.pretrained import WeightsFile
from perception.model.backbones.staged_backbone import StagedBackbone
from perception.model.backbones.tiny_backbone import TinyBackbone
from perception.model.backbones.torchvision_backbone import (
    TORCHVISION_ARCHITECTURES,
    TorchvisionBackbone,
)

__all__ = [
    "TORCHVISION_ARCHITECTURES",
    "StagedBackbone",
    "TinyBackbone",
    "TorchvisionBackbone",
    "WeightsFile",
]
