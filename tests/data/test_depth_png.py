"""16-bit depth PNG encoding (KITTI: metres x 256, 0 = unknown)."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from perception.data.depth_png import (
    DEPTH_SCALE,
    MAX_DEPTH_VALUE,
    encode_depth,
    read_depth_png,
    write_depth_png,
)


def test_file_is_single_channel_uint16_and_precise(tmp_path):
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.01, 250.0, size=(37, 53)).astype(np.float32)
    depth[:5, :7] = 0.0
    path = write_depth_png(tmp_path / "d.png", depth)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == depth.shape
    decoded = read_depth_png(path)
    assert decoded.dtype == np.float32
    assert np.all(decoded[:5, :7] == 0)
    assert np.abs(decoded - depth).max() <= 0.5 / DEPTH_SCALE + 1e-5


def test_invalid_tiny_and_far_values():
    depth = np.array([[0.0, -3.0, np.nan, np.inf, 1e-4, 300.0]], dtype=np.float32)
    assert encode_depth(depth).tolist() == [[0, 0, 0, 0, 1, MAX_DEPTH_VALUE]]


@settings(max_examples=50, deadline=None)
@given(arrays(np.float32, (4, 6), elements=st.floats(0.0078125, 255.0, width=32)))
def test_round_trip_error_at_most_half_a_step(depth):
    decoded = encode_depth(depth).astype(np.float64) / DEPTH_SCALE
    assert np.all(decoded > 0)
    assert np.abs(decoded - depth).max() <= 0.5 / DEPTH_SCALE + 1e-6
