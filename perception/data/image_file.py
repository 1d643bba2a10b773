"""Encode an image by its file suffix and write it atomically."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from perception.atomic import write_bytes_atomic


def write_image_atomic(path: Path, image: np.ndarray, jpeg_quality: int = 95) -> Path:
    """Encode ``image`` by the suffix of ``path`` (``.png``/``.jpg``) and write it atomically.

    Args:
        path: target file; its suffix selects the encoder.
        image: ``(H, W, 3)`` uint8 **RGB**, ``(H, W)`` uint8, or ``(H, W)`` uint16 (PNG only).
        jpeg_quality: JPEG quality 0-100, ignored for PNG.
    """
    path = Path(path)
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    is_jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if is_jpeg else []
    ok, encoded = cv2.imencode(path.suffix, pixels, params)
    if not ok:
        raise ValueError(f"could not encode image of shape {image.shape} as {path.suffix}: {path}")
    write_bytes_atomic(path, encoded.tobytes())
    return path
