"""Inference engines: one ``predict(frames) -> predictions`` interface over a torch checkpoint
(:mod:`.torch_engine`) or an exported ONNX file run by ONNX Runtime (:mod:`.onnx_engine`).

Everything here except :mod:`.torch_engine` is torch-free and plugin-free, so the ONNX engine runs
where only onnxruntime(-gpu), numpy and OpenCV are installed.
"""
