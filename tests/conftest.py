"""Shared test set-up: albumentations must not phone home, and paths to real data."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

pytest_plugins = ["tests.model_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
HIGHWAY_CLIP = REPO_ROOT / "tests" / "fixtures" / "udacity_highway" / "test_video.mp4"
"""A real 1280x720 highway clip, 38 frames at 25 fps, shipped with the tests (MIT)."""
