"""What every object placed in the world provides to the renderer."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from perception.synth.canvas import Canvas
from perception.synth.style import Style


class SceneObject(Protocol):
    """A labelled object (``category`` indexes CATEGORIES) or a distractor (``category = -1``).

    ``draw`` paints it with every pixel owned by ``instance`` (or -1 for unlabelled parts such
    as poles) as it is at ``time`` seconds; pedestrians return ``(17,)`` bool self-occlusion
    flags of their keypoints, other objects ``None``.
    """

    category: int

    def anchor(self, time: float) -> np.ndarray:
        """World position ``(3,)`` used for depth ordering and culling."""
        ...

    def draw(
        self, canvas: Canvas, instance: int, time: float, style: Style
    ) -> np.ndarray | None: ...
