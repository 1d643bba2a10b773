"""Pedestrian keypoint metrics: COCO OKS AP through pycocotools, and a no-model baseline.

Ground truth is every pedestrian with at least one labelled keypoint (visibility > 0). Predicted
people are scored by COCO's object keypoint similarity with the standard 17 COCO sigmas. COCO
normalises keypoint distances by the person's *segmentation* area; we have no masks, so the GT
area is the box area (larger than a mask area, so OKS is somewhat more lenient than on COCO).
Metrics (pycocotools ``COCOeval(iouType="keypoints")``, all areas, at most 20 people per image):

- ``oks_ap``: AP averaged over OKS thresholds 0.50:0.05:0.95.
- ``oks_ap50``: AP at OKS 0.5.

The baseline needs no model: one person per image, the training set's mean pedestrian box (mean
``x1, y1, x2, y2``) with the training set's mean pose inside it (each joint's mean position
relative to its box, over the labelled joints), score 1.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from perception.data.letterbox import letterbox
from perception.data.sample import CATEGORIES, KEYPOINT_NAMES, SKELETON, Sample
from perception.model.task_head import TaskEvaluator

KEYPOINT_METRIC_DIRECTIONS: dict[str, str] = {"oks_ap": "higher", "oks_ap50": "higher"}
"""Metric name -> which way is better."""

PERSON_CATEGORY_ID = 1
"""The single COCO category id used for pedestrians in the in-memory COCO datasets."""

PEDESTRIAN = CATEGORIES.index("pedestrian")


def labelled_people(sample: Sample) -> np.ndarray:
    """Row indices ``(P,)`` of the pedestrians of ``sample`` with at least one labelled keypoint
    (empty when the sample has no keypoint labels)."""
    if sample.keypoints is None or sample.category is None:
        return np.zeros(0, dtype=np.int64)
    has_joint = (sample.keypoints[:, :, 2] > 0).any(axis=1)
    return np.flatnonzero((sample.category == PEDESTRIAN) & has_joint)


def empty_keypoint_dataset() -> dict[str, Any]:
    """A COCO keypoint ground-truth dataset with the person category and no images yet."""
    category = {
        "id": PERSON_CATEGORY_ID,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(KEYPOINT_NAMES),
        "skeleton": [[a + 1, b + 1] for a, b in SKELETON],
    }
    return {"images": [], "annotations": [], "categories": [category]}


def add_ground_truth_image(dataset: dict[str, Any], sample: Sample) -> int:
    """Append ``sample`` as an image (with its labelled people) to ``dataset``; return its id."""
    image_id = len(dataset["images"]) + 1
    dataset["images"].append({"id": image_id, "width": sample.width, "height": sample.height})
    assert sample.boxes is not None and sample.keypoints is not None
    for row in labelled_people(sample):
        x1, y1, x2, y2 = (float(v) for v in sample.boxes[row])
        keypoints = sample.keypoints[row]
        dataset["annotations"].append(
            {
                "id": len(dataset["annotations"]) + 1,
                "image_id": image_id,
                "category_id": PERSON_CATEGORY_ID,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1),
                "iscrowd": 0,
                "keypoints": [float(v) for v in keypoints.reshape(-1)],
                "num_keypoints": int((keypoints[:, 2] > 0).sum()),
            }
        )
    return image_id


def keypoint_results(
    image_id: int, keypoints: np.ndarray, scores: np.ndarray
) -> list[dict[str, Any]]:
    """COCO keypoint results for one image: ``keypoints (K, 17, 3)`` (x, y, joint score) and
    person ``scores (K,)``."""
    return [
        {
            "image_id": image_id,
            "category_id": PERSON_CATEGORY_ID,
            "keypoints": [float(v) for v in person.reshape(-1)],
            "score": float(score),
        }
        for person, score in zip(keypoints, scores, strict=True)
    ]


def oks_average_precision(
    dataset: dict[str, Any], results: list[dict[str, Any]]
) -> dict[str, float]:
    """``{"oks_ap", "oks_ap50"}`` of ``results`` against the COCO ``dataset`` (pycocotools,
    printing silenced). NaN when the dataset has no person; 0 when there are people but no
    results."""
    if not dataset["annotations"]:
        return dict.fromkeys(KEYPOINT_METRIC_DIRECTIONS, float("nan"))
    if not results:
        return dict.fromkeys(KEYPOINT_METRIC_DIRECTIONS, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = dataset
        ground_truth.createIndex()
        detections = ground_truth.loadRes([dict(result) for result in results])
        evaluation = COCOeval(ground_truth, detections, iouType="keypoints")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {"oks_ap": float(evaluation.stats[0]), "oks_ap50": float(evaluation.stats[1])}


class MeanPoseBaseline:
    """The training set's mean pedestrian box and mean box-relative pose."""

    def __init__(self) -> None:
        self.box_sum = np.zeros(4, dtype=np.float64)
        self.people = 0
        self.joint_sum = np.zeros((len(KEYPOINT_NAMES), 2), dtype=np.float64)
        self.joint_count = np.zeros(len(KEYPOINT_NAMES), dtype=np.int64)

    def observe(self, sample: Sample) -> None:
        """Add the labelled people of one (letterboxed) training sample."""
        assert sample.boxes is not None and sample.keypoints is not None
        for row in labelled_people(sample):
            box = sample.boxes[row].astype(np.float64)
            width, height = box[2] - box[0], box[3] - box[1]
            if width <= 0 or height <= 0:
                continue
            self.box_sum += box
            self.people += 1
            joints = sample.keypoints[row]
            labelled = joints[:, 2] > 0
            # keypoints are pixel indices: their centres sit at +0.5 in edge coordinates
            relative = (joints[:, :2] + 0.5 - box[:2]) / np.array([width, height])
            self.joint_sum[labelled] += relative[labelled]
            self.joint_count[labelled] += 1

    def predict(self) -> np.ndarray | None:
        """``(17, 3)`` keypoints (x, y, 1) of the mean pose in the mean box, or ``None`` before
        any person was observed. Joints never labelled sit at the box centre."""
        if self.people == 0:
            return None
        x1, y1, x2, y2 = self.box_sum / self.people
        relative = np.full((len(KEYPOINT_NAMES), 2), 0.5)
        seen = self.joint_count > 0
        relative[seen] = self.joint_sum[seen] / self.joint_count[seen, None]
        pose = np.ones((len(KEYPOINT_NAMES), 3))
        pose[:, 0] = x1 + relative[:, 0] * (x2 - x1) - 0.5
        pose[:, 1] = y1 + relative[:, 1] * (y2 - y1) - 0.5
        return pose


class KeypointEvaluator(TaskEvaluator):
    """Evaluates ``decoded["keypoints"] (B, K, 17, 3)`` and ``decoded["scores"] (B, K)``.

    Args:
        input_size: ``(H, W)`` of the letterboxed network input; observed training samples of
            another size are letterboxed to it first.
    """

    def __init__(self, input_size: tuple[int, int]) -> None:
        self.input_size = input_size
        self.dataset = empty_keypoint_dataset()
        self.model_results: list[dict[str, Any]] = []
        self.baseline_results: list[dict[str, Any]] = []
        self.baseline = MeanPoseBaseline()

    def observe_training_sample(self, sample: Sample) -> None:
        if sample.keypoints is None:
            return
        if (sample.height, sample.width) != self.input_size:
            sample = letterbox(sample, *self.input_size)
        self.baseline.observe(sample)

    def update(self, decoded: dict[str, np.ndarray], samples: list[Sample]) -> None:
        keypoints, scores = decoded["keypoints"], decoded["scores"]
        if keypoints.shape[0] != len(samples) or keypoints.shape[2:] != (len(KEYPOINT_NAMES), 3):
            raise ValueError(
                f"decoded keypoints must be (B, K, 17, 3) with B = {len(samples)}, "
                f"got {keypoints.shape}"
            )
        baseline_pose = self.baseline.predict()
        for person_keypoints, person_scores, sample in zip(keypoints, scores, samples, strict=True):
            if sample.keypoints is None:
                continue
            image_id = add_ground_truth_image(self.dataset, sample)
            self.model_results += keypoint_results(image_id, person_keypoints, person_scores)
            if baseline_pose is not None:
                self.baseline_results += keypoint_results(image_id, baseline_pose[None], np.ones(1))

    def compute(self) -> dict[str, dict[str, float]]:
        model = oks_average_precision(self.dataset, self.model_results)
        if self.baseline.people == 0:
            baseline = dict.fromkeys(KEYPOINT_METRIC_DIRECTIONS, float("nan"))
        else:
            baseline = oks_average_precision(self.dataset, self.baseline_results)
        return {"model": model, "baseline": baseline}
