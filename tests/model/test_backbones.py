"""Every registered backbone against the backbone contract, plus torchvision weight loading."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from perception.errors import ConfigError, MalformedFileError, MissingFileError
from perception.model.backbones import TORCHVISION_ARCHITECTURES, TorchvisionBackbone
from perception.plugins import get_plugin_manager

BACKBONES = get_plugin_manager().backbones.names()
BATCH, HEIGHT, WIDTH = 2, 64, 96


def build(name: str, seed: int = 0, **kwargs: object) -> nn.Module:
    torch.manual_seed(seed)
    return get_plugin_manager().backbones.get(name).factory(**kwargs)


@functools.cache
def shared_backbone(name: str) -> nn.Module:
    """One instance per backbone for the tests that do not change its weights."""
    return build(name)


def images(seed: int = 0) -> torch.Tensor:
    return torch.randn(BATCH, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(seed))


def test_every_builtin_backbone_is_registered() -> None:
    assert set(BACKBONES) == {"tiny", *TORCHVISION_ARCHITECTURES}


@pytest.mark.parametrize("name", BACKBONES)
def test_levels_match_the_feature_spec(name: str) -> None:
    backbone = shared_backbone(name)
    spec = backbone.feature_spec
    assert [level.stride for level in spec.levels] == [4, 8, 16, 32]
    features = backbone(images())
    assert list(features) == list(spec.names)
    for level in spec.levels:
        expected = (BATCH, level.channels, HEIGHT // level.stride, WIDTH // level.stride)
        assert tuple(features[level.name].shape) == expected, level.name


@pytest.mark.parametrize("name", BACKBONES)
def test_gradients_reach_every_parameter(name: str) -> None:
    backbone = shared_backbone(name)
    backbone.zero_grad()
    inputs = images().requires_grad_()
    features = backbone(inputs)
    sum(feature.square().mean() for feature in features.values()).backward()
    without_gradient = [key for key, p in backbone.named_parameters() if p.grad is None]
    assert without_gradient == []
    assert inputs.grad is not None and inputs.grad.abs().sum() > 0


@pytest.mark.parametrize("name", BACKBONES)
def test_channels_last_gives_the_same_features(name: str) -> None:
    backbone = copy.deepcopy(shared_backbone(name)).eval()
    inputs = images()[:1]
    with torch.no_grad():
        reference = backbone(inputs)
        backbone.to(memory_format=torch.channels_last)
        features = backbone(inputs.contiguous(memory_format=torch.channels_last))
    for level_name, expected in reference.items():
        torch.testing.assert_close(features[level_name], expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", BACKBONES)
def test_saved_weights_load_through_pretrained(name: str, tmp_path: Path) -> None:
    source = copy.deepcopy(shared_backbone(name)).eval()
    path = tmp_path / "weights.pt"
    torch.save(source.state_dict(), path)
    loaded = build(name, seed=1, pretrained=str(path)).eval()
    with torch.no_grad():
        expected, features = source(images()), loaded(images())
    for level_name in expected:
        assert torch.equal(features[level_name], expected[level_name])


@pytest.mark.parametrize("name", BACKBONES)
def test_missing_weights_file_is_named(name: str, tmp_path: Path) -> None:
    path = tmp_path / "absent.pt"
    with pytest.raises(MissingFileError, match=str(path)):
        build(name, pretrained=str(path))


@pytest.mark.parametrize("name", BACKBONES)
def test_mismatched_keys_name_the_file_and_the_keys(name: str, tmp_path: Path) -> None:
    state = shared_backbone(name).state_dict()
    dropped = next(iter(state))
    del state[dropped]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "wrong.pt"
    torch.save(state, path)
    with pytest.raises(ConfigError) as caught:
        build(name, pretrained=str(path))
    message = str(caught.value)
    assert str(path) in message and f"backbone '{name}'" in message
    assert f"'{dropped}'" in message and "'extra.weight'" in message


def test_unknown_option_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"backbone 'tiny': unknown option 'widht' \(did you"):
        build("tiny", widht=8)
    with pytest.raises(ConfigError, match=r"backbone 'resnet18'.*'width'.*takes no options"):
        build("resnet18", width=8)


def test_tiny_width_sets_the_channels() -> None:
    narrow, wide = build("tiny", width=4), build("tiny", width=8)
    assert [2 * level.channels for level in narrow.feature_spec.levels] == [
        level.channels for level in wide.feature_spec.levels
    ]
    with pytest.raises(ConfigError, match="'width' must be an int >= 1"):
        build("tiny", width=0)


def test_differently_shaped_weights_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "narrow.pt"
    torch.save(build("tiny", width=4).state_dict(), path)
    with pytest.raises(ConfigError, match=r"shapes differ.*'stem\.0\.weight' \(4, 3, 3, 3\)"):
        build("tiny", width=8, pretrained=str(path))


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_checkpoint_dict_wrapping_a_state_dict_loads(wrapper: str, tmp_path: Path) -> None:
    source = build("tiny", seed=0).eval()
    path = tmp_path / "checkpoint.pt"
    torch.save({wrapper: source.state_dict(), "epoch": 3}, path)
    loaded = build("tiny", seed=1, pretrained=str(path)).eval()
    with torch.no_grad():
        assert torch.equal(loaded(images())["c2"], source(images())["c2"])


@pytest.mark.parametrize(
    "content", [b"not a torch file", {"weights": [1, 2]}], ids=["garbage", "no_state_dict"]
)
def test_malformed_weights_file_is_named(content: object, tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(MalformedFileError, match=str(path)):
        build("tiny", pretrained=str(path))


def torchvision_trunk(network: nn.Module) -> nn.Module:
    """The torchvision model without its pooling and classifier, built independently."""
    if hasattr(network, "features"):
        return network.features
    return nn.Sequential(*list(network.children())[:-2])


@pytest.mark.parametrize("architecture", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_state_dict_loads_and_matches_torchvision(
    architecture: str, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    network = getattr(torchvision.models, architecture)(weights=None).eval()
    path = tmp_path / f"{architecture}.pt"
    torch.save(network.state_dict(), path)
    backbone = build(architecture, seed=1, pretrained=str(path)).eval()
    with torch.no_grad():
        features = backbone(images())
        torch.testing.assert_close(features["c5"], torchvision_trunk(network)(images()))
    if architecture.startswith("resnet"):
        layers = {f"layer{index}": f"c{index + 1}" for index in range(1, 5)}
        with torch.no_grad():
            expected = create_feature_extractor(network, layers)(images())
        for level_name, reference in expected.items():
            torch.testing.assert_close(features[level_name], reference)


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown torchvision architecture 'resnet19'"):
        TorchvisionBackbone("resnet19")


@pytest.mark.parametrize("shape", [(3, 64, 96), (2, 1, 64, 96)])
def test_images_of_the_wrong_shape_are_refused(shape: tuple[int, ...]) -> None:
    for name in ("tiny", "resnet18"):
        with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
            shared_backbone(name)(torch.zeros(shape))
