"""Session fixtures shared by the inference and video tests: a tiny multi-task model, its
exported ONNX file, and driving frames (registered in tests/conftest.py). The tiny model's
batch-norm statistics are settled on noise images, so its peak scores do not tie."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from perception.config.schema import RunConfig
from perception.export.onnx_export import export_onnx
from perception.model.build import build_model
from perception.model.settle_batch_norm import settle_batch_norm
from tests.train.tiny_run import synthetic_samples, tiny_config

FRAME_HEIGHT, FRAME_WIDTH = 300, 500
"""Not the model's aspect ratio, so letterboxing pads (top and bottom) and rescales."""


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, RunConfig]:
    config = tiny_config(tmp_path_factory.mktemp("run"))
    torch.manual_seed(3)
    input_size = (config.data.input_height, config.data.input_width)
    return settle_batch_norm(build_model(config), input_size), config


@pytest.fixture(scope="session")
def tiny_onnx(
    tiny_model: tuple[torch.nn.Module, RunConfig], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    model, config = tiny_model
    return export_onnx(model, config, tmp_path_factory.mktemp("export") / "tiny.onnx")


@pytest.fixture(scope="session")
def bgr_frames() -> list[np.ndarray]:
    """Three rendered driving scenes, ``(300, 500, 3)`` uint8 BGR as OpenCV would read them."""
    samples = synthetic_samples(3, FRAME_HEIGHT, FRAME_WIDTH, seed=5)
    return [cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR) for sample in samples]
