"""Write samples as a COCO-style split: images, 16-bit depth PNGs and one annotation JSON.

Layout under ``root``::

    images/<split>/<image_id>.png|.jpg      RGB image
    depth/<split>/<image_id>.png            depth, KITTI encoding (see depth_png.py)
    annotations/<split>.json                COCO JSON (loads in pycocotools' COCO())

Beyond plain COCO, each image entry records ``labels``: the label groups the image carries
(``"boxes"``, ``"keypoints"``, ``"depth"``). An image whose ``labels`` contains ``"boxes"`` but
that has no annotations is "labelled, nothing there"; one without ``"boxes"`` is unlabelled.

Coordinates: boxes are edge coordinates (pixel ``i`` spans ``[i, i + 1)``), keypoints are pixel
indices (COCO's convention: integer ``x`` is the centre of column ``x``). Keypoint ``x, y`` are
stored as given, also for visibility 0, so the round trip is exact. Each annotation carries its
box as a four-corner polygon ``segmentation`` (the synthetic world has no instance masks), which
keeps pycocotools' ``annToMask`` usable.

The JSON is written last and atomically, so its presence means the split is complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from perception.atomic import write_bytes_atomic
from perception.data.depth_png import write_depth_png
from perception.data.image_file import write_image_atomic
from perception.data.sample import (
    CATEGORIES,
    KEYPOINT_NAMES,
    LIGHT_STATES,
    SKELETON,
    Sample,
)

LABEL_GROUPS: tuple[str, ...] = ("boxes", "keypoints", "depth")
"""Names recorded in each image entry's ``labels`` list."""

IMAGE_FORMATS: tuple[str, ...] = ("png", "jpg")

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def coco_categories() -> list[dict[str, Any]]:
    """The COCO ``categories`` list: ids ``1..4`` in :data:`CATEGORIES` order.

    The pedestrian category carries the keypoint names and the 1-based skeleton.
    """
    categories: list[dict[str, Any]] = []
    for index, name in enumerate(CATEGORIES):
        entry: dict[str, Any] = {"id": index + 1, "name": name, "supercategory": "driving"}
        if name == "pedestrian":
            entry["keypoints"] = list(KEYPOINT_NAMES)
            entry["skeleton"] = [[a + 1, b + 1] for a, b in SKELETON]
        categories.append(entry)
    return categories


def label_groups(sample: Sample) -> list[str]:
    """The label groups ``sample`` carries, in :data:`LABEL_GROUPS` order."""
    present = {
        "boxes": sample.boxes is not None,
        "keypoints": sample.keypoints is not None,
        "depth": sample.depth is not None,
    }
    return [name for name in LABEL_GROUPS if present[name]]


class CocoBuilder:
    """Accumulates image entries and annotations; :meth:`write` emits the COCO JSON."""

    def __init__(self, description: str = "perception dataset") -> None:
        self._info = {"description": description, "light_states": list(LIGHT_STATES)}
        self._images: list[dict[str, Any]] = []
        self._annotations: list[dict[str, Any]] = []

    def add(
        self,
        sample: Sample,
        file_name: str,
        depth_file: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Add one image entry and its annotations; return the new COCO image id.

        Args:
            sample: the sample; its box-aligned arrays become annotations.
            file_name: image file name relative to the split's image folder.
            depth_file: depth PNG name relative to the split's depth folder (when depth exists).
            extra: further image-entry keys (e.g. ``frame_index`` for video frames).
        """
        image_id = len(self._images) + 1
        entry: dict[str, Any] = {
            "id": image_id,
            "file_name": file_name,
            "width": sample.width,
            "height": sample.height,
            "labels": label_groups(sample),
        }
        if depth_file is not None:
            entry["depth_file"] = depth_file
        if sample.meta:
            entry["meta"] = sample.meta
        entry.update(extra or {})
        self._images.append(entry)
        self._annotations.extend(self._annotations_of(sample, image_id))
        return image_id

    def _annotations_of(self, sample: Sample, image_id: int) -> list[dict[str, Any]]:
        if sample.boxes is None:
            return []
        assert sample.category is not None and sample.light_state is not None
        assert sample.occluded is not None and sample.truncated is not None
        if not np.all(np.isfinite(sample.boxes)):
            raise ValueError(f"sample {sample.image_id!r}: boxes contain NaN or inf")
        annotations = []
        for row in range(sample.num_objects):
            category = int(sample.category[row])
            if not 0 <= category < len(CATEGORIES):
                raise ValueError(
                    f"sample {sample.image_id!r}: category index {category} of object {row} "
                    f"is not in 0..{len(CATEGORIES) - 1}"
                )
            x1, y1, x2, y2 = (float(v) for v in sample.boxes[row])
            width, height = x2 - x1, y2 - y1
            attributes: dict[str, Any] = {
                "occluded": bool(sample.occluded[row]),
                "truncated": bool(sample.truncated[row]),
            }
            state = int(sample.light_state[row])
            if CATEGORIES[category] == "traffic_light" and 0 <= state < len(LIGHT_STATES):
                attributes["state"] = LIGHT_STATES[state]
            annotation: dict[str, Any] = {
                "id": len(self._annotations) + len(annotations) + 1,
                "image_id": image_id,
                "category_id": category + 1,
                "bbox": [x1, y1, width, height],
                "area": max(width, 0.0) * max(height, 0.0),
                "iscrowd": 0,
                "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]],
                "attributes": attributes,
            }
            keypoints = None if sample.keypoints is None else sample.keypoints[row]
            if keypoints is not None and (CATEGORIES[category] == "pedestrian" or keypoints.any()):
                flat: list[float | int] = []
                for x, y, visibility in keypoints:
                    flat.extend((float(x), float(y), int(visibility)))
                annotation["keypoints"] = flat
                annotation["num_keypoints"] = int(np.count_nonzero(keypoints[:, 2] > 0))
            annotations.append(annotation)
        return annotations

    def to_dict(self) -> dict[str, Any]:
        """The COCO document: ``info``, ``images``, ``annotations``, ``categories``."""
        return {
            "info": self._info,
            "images": self._images,
            "annotations": self._annotations,
            "categories": coco_categories(),
        }

    def write(self, path: Path) -> Path:
        """Write the JSON atomically to ``path`` and return it."""
        try:
            text = json.dumps(self.to_dict(), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"labels for {path} are not JSON-serialisable: {error}") from error
        return write_bytes_atomic(Path(path), text.encode("utf-8"))


def write_split(
    samples: Iterable[Sample], root: Path, split: str, image_format: str = "png"
) -> Path:
    """Write ``samples`` as split ``split`` under ``root``; return the annotation JSON path.

    Each sample's ``image_id`` becomes its file stem (letters, digits, ``.``, ``_``, ``-``);
    an empty ``image_id`` is replaced by the running index ``%06d``. Ids must be unique.
    """
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, got {image_format!r}")
    if not _SAFE_ID.match(split):
        raise ValueError(f"split name {split!r} must be a plain file name")
    root = Path(root)
    image_dir, depth_dir = root / "images" / split, root / "depth" / split
    builder = CocoBuilder(description=f"split {split!r}")
    seen: set[str] = set()
    for index, sample in enumerate(samples):
        stem = sample.image_id or f"{index:06d}"
        if not _SAFE_ID.match(stem):
            raise ValueError(
                f"sample {index}: image_id {stem!r} is not a safe file name "
                "(use letters, digits, '.', '_', '-')"
            )
        if stem in seen:
            raise ValueError(f"sample {index}: duplicate image_id {stem!r} in split {split!r}")
        seen.add(stem)
        file_name = f"{stem}.{image_format}"
        write_image_atomic(image_dir / file_name, sample.image)
        depth_file = None
        if sample.depth is not None:
            depth_file = f"{stem}.png"
            write_depth_png(depth_dir / depth_file, sample.depth)
        builder.add(sample, file_name, depth_file)
    return builder.write(root / "annotations" / f"{split}.json")
