"""The names an exported ONNX file is built around, shared by the exporter and the engines.

Torch-free on purpose: the ONNX Runtime engine reads files with these names on machines that
have only onnxruntime, numpy and OpenCV.
"""

from __future__ import annotations

INPUT_NAME = "images"
"""The graph's only input: ``(B, 3, H, W)`` float32 RGB in ``[0, 255]``, letterboxed."""

METADATA_KEY = "perception"
"""The ``metadata_props`` key whose value is the JSON described in
:mod:`perception.export.metadata`."""

METADATA_FORMAT = 1
"""Version of the metadata layout; bumped when a reader would misread the old one."""

BATCH_DIM = "batch"
"""The name of the dynamic leading dimension, in the graph and in the metadata shapes."""
