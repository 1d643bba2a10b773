"""Deployment export: the merged multi-task model as one self-describing ONNX file."""

from perception.export.metadata import METADATA_KEY
from perception.export.onnx_export import INPUT_NAME, export_onnx

__all__ = ["INPUT_NAME", "METADATA_KEY", "export_onnx"]
