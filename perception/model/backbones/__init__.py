"""Backbones: CNN trunks that turn normalised images into multi-scale feature maps.

Every backbone module has a ``feature_spec`` (levels ``c2`` .. ``c5`` at strides 4, 8, 16, 32)
and maps ``(B, 3, H, W)`` images to a dict of feature maps keyed by level name. Plugins register
them by name; :class:`WeightsFile` loads local weight files into them.
"""

from perception.model.backbones.pretrained import WeightsFile
from perception.model.backbones.tiny_backbone import TinyBackbone
from perception.model.backbones.torchvision_backbone import (
    TORCHVISION_ARCHITECTURES,
    TorchvisionBackbone,
)

__all__ = [
    "TORCHVISION_ARCHITECTURES",
    "TinyBackbone",
    "TorchvisionBackbone",
    "WeightsFile",
]
