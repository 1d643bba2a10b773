"""Depth maps as 16-bit PNG, in KITTI's encoding: ``value = round(metres * 256)``, 0 = no depth.

The encoding covers 1/256 m to 65535/256 m (about 256 m) with a rounding error of at most
1/512 m. Depths beyond the range are clipped to 65535; a positive depth too small to encode
becomes 1 (the smallest valid value) so that "known" never turns into "unknown".
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from perception.data.image_file import write_image_atomic
from perception.errors import MalformedFileError, MissingFileError

DEPTH_SCALE = 256.0
"""PNG value per metre."""

MAX_DEPTH_VALUE = 65535
"""Largest storable value (about 255.996 m)."""


def encode_depth(depth: np.ndarray) -> np.ndarray:
    """Metric depth ``(H, W)`` float (0, negative or non-finite = unknown) to ``(H, W)`` uint16."""
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {depth.shape}")
    metres = np.asarray(depth, dtype=np.float64)
    valid = np.isfinite(metres) & (metres > 0)
    scaled = np.where(valid, np.rint(np.where(valid, metres, 0.0) * DEPTH_SCALE), 0.0)
    encoded = np.clip(scaled, 1, MAX_DEPTH_VALUE).astype(np.uint16)
    encoded[~valid] = 0
    return encoded


def decode_depth(encoded: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint16 PNG values to ``(H, W)`` float32 metres (0 where unknown)."""
    if encoded.dtype != np.uint16 or encoded.ndim != 2:
        raise ValueError(f"depth PNG must be (H, W) uint16, got {encoded.shape} {encoded.dtype}")
    return (encoded.astype(np.float32) / np.float32(DEPTH_SCALE)).astype(np.float32)


def write_depth_png(path: Path, depth: np.ndarray) -> Path:
    """Encode ``depth`` ``(H, W)`` metres and write it atomically as a 16-bit PNG."""
    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"depth must be stored as .png (16-bit), got {path}")
    return write_image_atomic(path, encode_depth(depth))


def read_depth_png(path: Path) -> np.ndarray:
    """Read a 16-bit depth PNG into ``(H, W)`` float32 metres."""
    encoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if encoded is None:
        raise MissingFileError(f"depth file missing or unreadable: {path}")
    if encoded.dtype != np.uint16 or encoded.ndim != 2:
        raise MalformedFileError(
            f"depth file {path} must be a single-channel 16-bit PNG, "
            f"got {encoded.shape} {encoded.dtype}"
        )
    return decode_depth(encoded)
