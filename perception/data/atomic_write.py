"""Atomic file output: write to a temporary name in the target folder, then rename.

A reader (or a crashed writer) never sees a half-written file: either the old file (or none)
or the complete new one. The temporary name keeps the final suffix, because some writers
(OpenCV's ``VideoWriter``) choose the container from it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    The parent folder is created. On an exception the temporary file is removed and ``path``
    is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return ``path``."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_image_atomic(path: Path, image: np.ndarray, jpeg_quality: int = 95) -> Path:
    """Encode ``image`` by the suffix of ``path`` (``.png``/``.jpg``) and write it atomically.

    Args:
        path: target file; its suffix selects the encoder.
        image: ``(H, W, 3)`` uint8 **RGB**, ``(H, W)`` uint8, or ``(H, W)`` uint16 (PNG only).
        jpeg_quality: JPEG quality 0-100, ignored for PNG.
    """
    path = Path(path)
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    params = (
        [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    )
    ok, encoded = cv2.imencode(path.suffix, pixels, params)
    if not ok:
        raise ValueError(f"could not encode image of shape {image.shape} as {path.suffix}: {path}")
    return write_bytes_atomic(path, encoded.tobytes())
