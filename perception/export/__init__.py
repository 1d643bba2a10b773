"""Deployment export: the merged multi-task model as one self-describing ONNX file.

:mod:`perception.export.onnx_export` writes the file (needs torch);
:mod:`perception.export.onnx_format` names its input and metadata key (torch-free).
"""
