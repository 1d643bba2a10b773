"""Shared test set-up: albumentations must not phone home; the repository root."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

pytest_plugins = ["tests.model_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
