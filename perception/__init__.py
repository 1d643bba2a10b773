"""perception: plugin-based multi-task perception for driving scenes."""

import os

# albumentations contacts the network at import unless told not to; set it before any import.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
