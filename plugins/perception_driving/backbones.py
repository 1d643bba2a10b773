"""Built-in backbones: a tiny CNN for tests and quick runs, and torchvision trunks.

Every factory is called as ``factory(pretrained=None, **options)``; ``pretrained`` is a local
weights file (see :mod:`perception.model.backbones.pretrained`), never a download.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perception.errors import ConfigError, did_you_mean
from perception.model.backbones import (
    TORCHVISION_ARCHITECTURES,
    TinyBackbone,
    TorchvisionBackbone,
    WeightsFile,
)
from perception.plugins import BackboneRecord, hookimpl

TORCHVISION_SUMMARIES = {
    "resnet18": "torchvision resnet18 trunk, levels c2..c5 (64..512 channels)",
    "resnet34": "torchvision resnet34 trunk, levels c2..c5 (64..512 channels)",
    "resnet50": "torchvision resnet50 trunk, levels c2..c5 (256..2048 channels)",
    "mobilenet_v3_large": "torchvision mobilenet_v3_large features, levels c2..c5 (24..960)",
    "mobilenet_v3_small": "torchvision mobilenet_v3_small features, levels c2..c5 (16..576)",
    "efficientnet_b0": "torchvision efficientnet_b0 features, levels c2..c5 (24..1280)",
}


def build_tiny(pretrained: str | None = None, **options: Any) -> TinyBackbone:
    """The tiny CNN; option ``width`` (int >= 1, default 16) sets the finest level's channels."""
    _refuse_unknown_options("tiny", options, known=("width",))
    width = options.get("width", 16)
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ConfigError(f"backbone 'tiny': option 'width' must be an int >= 1, got {width!r}")
    weights = WeightsFile.read(pretrained) if pretrained is not None else None
    backbone = TinyBackbone(width=width)
    if weights is not None:
        weights.load_into(backbone, target="backbone 'tiny'")
    return backbone


def torchvision_factory(architecture: str) -> Callable[..., TorchvisionBackbone]:
    """The factory of the torchvision trunk ``architecture`` (it takes no options)."""

    def build(pretrained: str | None = None, **options: Any) -> TorchvisionBackbone:
        _refuse_unknown_options(architecture, options, known=())
        weights = WeightsFile.read(pretrained) if pretrained is not None else None
        backbone = TorchvisionBackbone(architecture)
        if weights is not None:
            weights.load_into(
                backbone,
                target=f"backbone '{architecture}'",
                ignored_prefixes=backbone.ignored_weight_prefixes,
            )
        return backbone

    build.__name__ = f"build_{architecture}"
    return build


def _refuse_unknown_options(backbone: str, options: dict[str, Any], known: tuple[str, ...]) -> None:
    for option in options:
        if option not in known:
            accepted = f"its options are {list(known)}" if known else "it takes no options"
            raise ConfigError(
                f"backbone '{backbone}': unknown option '{option}'"
                f"{did_you_mean(option, known)}; {accepted}"
            )


@hookimpl
def perception_register_backbones() -> list[BackboneRecord]:
    return [
        BackboneRecord("tiny", build_tiny, "9-conv CNN for tests and quick runs (option width)"),
        *(
            BackboneRecord(name, torchvision_factory(name), TORCHVISION_SUMMARIES[name])
            for name in TORCHVISION_ARCHITECTURES
        ),
    ]
