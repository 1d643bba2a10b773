"""Read a COCO-style split (as written by :mod:`perception.data.coco_writer`) into Samples.

Plain COCO files work too: without a per-image ``labels`` list, an image counts as box-labelled
(COCO labels every image exhaustively), keypoint-labelled when the file has any keypoints, and
depth-labelled when its entry names a ``depth_file``. Categories are matched to
:data:`~perception.data.sample.CATEGORIES` by name; other names are refused.

All structural checks run in the constructor, so a broken file fails at once with the file
name and the offending entry; missing image or depth files fail when that sample is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import cv2
import numpy as np
from torch.utils.data import Dataset

from perception.data.coco_writer import LABEL_GROUPS
from perception.data.depth_png import read_depth_png
from perception.data.sample import CATEGORIES, LIGHT_STATES, Sample
from perception.errors import MalformedFileError, MissingFileError

Transform = Callable[[Sample], Sample]

_IMAGE_KEYS = ("id", "file_name", "width", "height")
_ANNOTATION_KEYS = ("id", "image_id", "category_id", "bbox")


class CocoDataset(Dataset[Sample]):
    """Map-style dataset over ``root/annotations/<split>.json``.

    Images are read from ``root/images/<split>/<file_name>``, depth from
    ``root/depth/<split>/<depth_file>``. Item ``i`` is the ``i``-th image entry as a
    :class:`Sample` (``image_id`` = file stem, ``meta`` = the entry's ``meta``), passed through
    ``transform`` when given.
    """

    def __init__(self, root: Path | str, split: str, transform: Transform | None = None) -> None:
        self.root = Path(root)
        self.split = split
        self.transform = transform
        if not self.root.is_dir():
            raise MissingFileError(f"dataset root not found: {self.root}")
        self.annotation_file = self.root / "annotations" / f"{split}.json"
        if not self.annotation_file.is_file():
            raise MissingFileError(f"annotation file not found: {self.annotation_file}")
        document = self._load_json()
        self._category_index = self._parse_categories(document["categories"])
        self._images: list[dict[str, Any]] = []
        image_position: dict[int, int] = {}
        for position, entry in enumerate(document["images"]):
            self._require(entry, _IMAGE_KEYS, f"images[{position}]")
            image_position[entry["id"]] = position
            self._images.append(entry)
        self._objects: list[list[dict[str, Any]]] = [[] for _ in self._images]
        any_keypoints = False
        for position, annotation in enumerate(document["annotations"]):
            where = f"annotations[{position}]"
            self._require(annotation, _ANNOTATION_KEYS, where)
            if annotation["image_id"] not in image_position:
                self._fail(f"{where} refers to unknown image_id {annotation['image_id']!r}")
            if annotation["category_id"] not in self._category_index:
                self._fail(f"{where} has unknown category_id {annotation['category_id']!r}")
            if len(annotation["bbox"]) != 4:
                self._fail(f"{where}: bbox must have 4 numbers, got {annotation['bbox']!r}")
            if "keypoints" in annotation:
                any_keypoints = True
                if len(annotation["keypoints"]) != 17 * 3:
                    self._fail(f"{where}: keypoints must have 51 numbers")
            self._objects[image_position[annotation["image_id"]]].append(annotation)
        for objects in self._objects:
            objects.sort(key=lambda annotation: annotation["id"])
        self._default_labels = ["boxes", "keypoints"] if any_keypoints else ["boxes"]

    def _fail(self, message: str) -> NoReturn:
        raise MalformedFileError(f"{self.annotation_file}: {message}")

    def _require(self, entry: Any, keys: tuple[str, ...], where: str) -> None:
        if not isinstance(entry, dict):
            self._fail(f"{where} must be an object, got {type(entry).__name__}")
        for key in keys:
            if key not in entry:
                self._fail(f"{where} lacks key {key!r}")

    def _load_json(self) -> dict[str, Any]:
        try:
            document = json.loads(self.annotation_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise MalformedFileError(f"{self.annotation_file}: not valid JSON: {error}") from error
        if not isinstance(document, dict):
            self._fail("top level must be a JSON object")
        for key in ("images", "annotations", "categories"):
            if not isinstance(document.get(key), list):
                self._fail(f"missing or non-list key {key!r}")
        return document

    def _parse_categories(self, categories: list[Any]) -> dict[int, int]:
        index: dict[int, int] = {}
        for position, category in enumerate(categories):
            self._require(category, ("id", "name"), f"categories[{position}]")
            if category["name"] not in CATEGORIES:
                self._fail(
                    f"categories[{position}] name {category['name']!r} is not one of {CATEGORIES}"
                )
            index[category["id"]] = CATEGORIES.index(category["name"])
        return index

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self._images):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        sample = self._read(index)
        return self.transform(sample) if self.transform is not None else sample

    def _read(self, index: int) -> Sample:
        entry = self._images[index]
        labels = entry.get(
            "labels", self._default_labels + (["depth"] if "depth_file" in entry else [])
        )
        unknown = set(labels) - set(LABEL_GROUPS)
        if unknown:
            self._fail(f"images[{index}] has unknown label groups {sorted(unknown)}")
        if "keypoints" in labels and "boxes" not in labels:
            self._fail(f"images[{index}] has keypoint labels without box labels")
        meta = entry.get("meta", {})
        if not isinstance(meta, dict):
            self._fail(f"images[{index}] 'meta' must be an object")
        image_path = self.root / "images" / self.split / entry["file_name"]
        bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise MissingFileError(
                f"image file missing or unreadable: {image_path} (images[{index}] of "
                f"{self.annotation_file})"
            )
        if bgr.shape[:2] != (entry["height"], entry["width"]):
            raise MalformedFileError(
                f"{image_path}: size {bgr.shape[1]}x{bgr.shape[0]} differs from "
                f"{entry['width']}x{entry['height']} in {self.annotation_file}"
            )
        fields: dict[str, Any] = {}
        if "boxes" in labels:
            fields.update(self._box_fields(self._objects[index], "keypoints" in labels))
        elif self._objects[index]:
            self._fail(f"images[{index}] has annotations but 'boxes' is not in its labels")
        if "depth" in labels:
            if "depth_file" not in entry:
                self._fail(f"images[{index}] is depth-labelled but lacks key 'depth_file'")
            depth_path = self.root / "depth" / self.split / entry["depth_file"]
            fields["depth"] = read_depth_png(depth_path)
            if fields["depth"].shape != bgr.shape[:2]:
                raise MalformedFileError(
                    f"{depth_path}: depth is {fields['depth'].shape}, image is {bgr.shape[:2]}"
                )
        return Sample(
            image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
            image_id=Path(entry["file_name"]).stem,
            meta=dict(meta),
            **fields,
        )

    def _box_fields(self, objects: list[dict[str, Any]], with_keypoints: bool) -> dict[str, Any]:
        count = len(objects)
        boxes = np.zeros((count, 4), dtype=np.float32)
        category = np.zeros(count, dtype=np.int64)
        light_state = np.full(count, -1, dtype=np.int64)
        occluded = np.zeros(count, dtype=bool)
        truncated = np.zeros(count, dtype=bool)
        keypoints = np.zeros((count, 17, 3), dtype=np.float32)
        for row, annotation in enumerate(objects):
            x, y, width, height = (float(v) for v in annotation["bbox"])
            boxes[row] = (x, y, x + width, y + height)
            category[row] = self._category_index[annotation["category_id"]]
            attributes = annotation.get("attributes", {})
            occluded[row] = bool(attributes.get("occluded", False))
            truncated[row] = bool(attributes.get("truncated", False))
            state = attributes.get("state")
            if state is not None:
                if state not in LIGHT_STATES:
                    self._fail(f"annotation id {annotation['id']}: unknown state {state!r}")
                light_state[row] = LIGHT_STATES.index(state)
            if "keypoints" in annotation:
                keypoints[row] = np.asarray(annotation["keypoints"], dtype=np.float32).reshape(
                    17, 3
                )
        fields: dict[str, Any] = {
            "boxes": boxes,
            "category": category,
            "light_state": light_state,
            "occluded": occluded,
            "truncated": truncated,
        }
        if with_keypoints:
            fields["keypoints"] = keypoints
        return fields
