"""The sample type: one image and whichever labels it has.

Every data source (the synthetic world, the on-disk COCO-style reader, later real datasets)
produces :class:`Sample` objects. Any label group may be missing (``None``): partial labels are
normal in real datasets, and each task head trains only on the samples that carry its labels.

Box-aligned arrays share the first dimension ``N`` (number of annotated objects). Keypoints are
box-aligned too: row ``i`` holds the 17 COCO keypoints of object ``i`` and is all-zero (visibility
0) for objects that are not pedestrians.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CATEGORIES: tuple[str, ...] = ("car", "pedestrian", "traffic_light", "stop_sign")
"""Object categories of the built-in driving world; ``category`` arrays index into this tuple."""

LIGHT_STATES: tuple[str, ...] = ("red", "yellow", "green", "off")
"""Traffic-light lamp states; ``light_state`` arrays index into this tuple, ``-1`` = not a light."""

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
"""The 17 COCO person keypoints, in COCO order."""

KEYPOINT_FLIP_INDEX: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
"""``KEYPOINT_FLIP_INDEX[i]`` is the keypoint that ``i`` becomes after a horizontal flip."""

SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip
"""COCO skeleton edges as 0-based keypoint index pairs (for drawing)."""


@dataclass
class Sample:
    """One image with its (possibly partial) labels.

    Attributes:
        image: ``(H, W, 3)`` uint8, RGB.
        boxes: ``(N, 4)`` float32 ``x1, y1, x2, y2`` in pixels, or ``None`` when the image has no
            box labels at all (an empty ``(0, 4)`` array means "labelled, nothing there").
        category: ``(N,)`` int64 indices into :data:`CATEGORIES`; ``None`` iff ``boxes`` is.
        light_state: ``(N,)`` int64 indices into :data:`LIGHT_STATES`, ``-1`` for objects that
            are not traffic lights or whose state is unknown; ``None`` iff ``boxes`` is.
        occluded: ``(N,)`` bool, the object is partly hidden by a nearer one.
        truncated: ``(N,)`` bool, the object is partly outside the image.
        keypoints: ``(N, 17, 3)`` float32 ``x, y, visibility`` (COCO: 0 unlabelled, 1 labelled
            but hidden, 2 visible), box-aligned; ``None`` when keypoints are not labelled.
        depth: ``(H, W)`` float32 metric depth in metres, ``0`` where unknown; ``None`` when the
            image has no depth labels.
        image_id: a stable identifier (file name or synthetic index).
        meta: free-form extras (scene conditions, camera intrinsics, ...), JSON-serialisable.
    """

    image: np.ndarray
    boxes: np.ndarray | None = None
    category: np.ndarray | None = None
    light_state: np.ndarray | None = None
    occluded: np.ndarray | None = None
    truncated: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    depth: np.ndarray | None = None
    image_id: str = ""
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def num_objects(self) -> int:
        return 0 if self.boxes is None else int(self.boxes.shape[0])

    def validate(self) -> None:
        """Check shapes and dtypes; raise ``ValueError`` naming the sample and the field."""
        where = f"sample {self.image_id!r}"
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"{where}: image must be (H, W, 3) uint8, got {self.image.shape} {self.image.dtype}"
            )
        box_fields = ("category", "light_state", "occluded", "truncated")
        if self.boxes is None:
            present = [name for name in box_fields if getattr(self, name) is not None]
            if present:
                raise ValueError(f"{where}: {present} given without boxes")
            if self.keypoints is not None:
                raise ValueError(f"{where}: keypoints are box-aligned and need boxes")
        else:
            count = self.boxes.shape[0]
            if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
                raise ValueError(f"{where}: boxes must be (N, 4), got {self.boxes.shape}")
            for name in box_fields:
                value = getattr(self, name)
                if value is None or value.shape != (count,):
                    got = None if value is None else value.shape
                    raise ValueError(f"{where}: {name} must be ({count},), got {got}")
            if self.keypoints is not None and self.keypoints.shape != (count, 17, 3):
                raise ValueError(
                    f"{where}: keypoints must be ({count}, 17, 3), got {self.keypoints.shape}"
                )
        if self.depth is not None and self.depth.shape != self.image.shape[:2]:
            raise ValueError(
                f"{where}: depth must be {self.image.shape[:2]}, got {self.depth.shape}"
            )
