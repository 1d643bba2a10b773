"""Do two engines' predictions agree? Detections are compared as sets, not lists.

Two engines can rank exactly (or, in float16, nearly) tied peak scores differently, so a
detection is matched to the unmatched detection of the other engine with the same class, a score
within tolerance and the closest box. A detection left without a partner is only forgiven as a
tie at the cut-off: its score is at the threshold, or it is among the weakest of its side and the
other side has an equally weak partnerless detection (each engine kept a different one of tied
peaks). Such a tail pair cannot be told from a moved weakest box, so the weakest detection of a
full list is compared less strictly than the rest.

Float16 rounding can also flip which of two nearly equal neighbouring cells is the local
maximum, so a peak moves to another place, or merges into a neighbour while the next-weakest
peak joins the list's tail. :attr:`Tolerance.moved_peaks` forgives that many partnerless
detections on each side (as many on one as on the other) per head and frame; when there are
more, every one is reported, so a drift that moves all the boxes is still caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perception.inference.predictions import (
    DepthMap,
    Detections,
    FramePredictions,
    HeadPrediction,
    PoseDetections,
    RawOutputs,
)


@dataclass(frozen=True)
class Tolerance:
    """How far two predictions may differ and still agree.

    ``score`` is absolute (scores and attribute probabilities); coordinates (boxes, keypoints,
    pixels) may differ by ``coordinate_abs + coordinate_rel * |value|``; depth by ``depth_abs +
    depth_rel * |metres|``. ``moved_peaks`` is how many detections per head and frame each side
    may have without a counterpart, as many on one side as on the other (local maxima that
    rounding moved or merged).
    """

    score: float
    coordinate_abs: float
    coordinate_rel: float
    depth_abs: float
    depth_rel: float
    moved_peaks: int = 0


FLOAT32 = Tolerance(
    score=1e-4, coordinate_abs=1e-2, coordinate_rel=1e-5, depth_abs=1e-3, depth_rel=1e-5
)
"""Two float32 runs of the same weights (PyTorch eager against ONNX Runtime)."""

FLOAT16 = Tolerance(
    score=2e-2,
    coordinate_abs=1.0,
    coordinate_rel=1e-2,
    depth_abs=0.1,
    depth_rel=2e-2,
    moved_peaks=3,
)
"""A float16 graph against the float32 model it came from. Up to 3 moved peaks per head and
frame: on untrained models with settled batch norms (whose heatmaps are smooth noise, full of
near-tied neighbours) 6 in 10 tiny models had 1 or 2 in one of the three check frames."""


def prediction_differences(
    actual: Sequence[FramePredictions],
    expected: Sequence[FramePredictions],
    tolerance: Tolerance,
    score_threshold: float,
) -> list[str]:
    """Every way ``actual`` disagrees with ``expected`` (frame by frame, head by head), as
    messages naming the frame and head; empty when they agree."""
    if len(actual) != len(expected):
        return [f"{len(actual)} frames of predictions against {len(expected)}"]
    problems: list[str] = []
    for index, (frame_a, frame_e) in enumerate(zip(actual, expected, strict=True)):
        if list(frame_a) != list(frame_e):
            problems.append(f"frame {index}: heads {list(frame_a)} against {list(frame_e)}")
            continue
        for head in frame_e:
            for problem in _head_differences(
                frame_a[head], frame_e[head], tolerance, score_threshold
            ):
                problems.append(f"frame {index}, head '{head}': {problem}")
    return problems


def _head_differences(
    actual: HeadPrediction, expected: HeadPrediction, tolerance: Tolerance, threshold: float
) -> list[str]:
    if type(actual) is not type(expected):
        return [f"{type(actual).__name__} against {type(expected).__name__}"]
    if isinstance(expected, DepthMap):
        assert isinstance(actual, DepthMap)
        return _dense_difference(
            "depth", actual.metres, expected.metres, tolerance.depth_abs, tolerance.depth_rel
        )
    if isinstance(expected, RawOutputs):
        assert isinstance(actual, RawOutputs)
        problems = []
        for name, value in expected.arrays.items():
            problems += _dense_difference(
                name, actual.arrays.get(name), value, tolerance.score, tolerance.score
            )
        return problems
    assert isinstance(actual, Detections | PoseDetections)
    assert isinstance(expected, Detections | PoseDetections)
    return _detection_differences(actual, expected, tolerance, threshold)


def _dense_difference(
    name: str, actual: np.ndarray | None, expected: np.ndarray, absolute: float, relative: float
) -> list[str]:
    if actual is None or actual.shape != expected.shape:
        shape = None if actual is None else actual.shape
        return [f"{name}: shape {shape} against {expected.shape}"]
    if not np.issubdtype(expected.dtype, np.floating):
        mismatched = int((actual != expected).sum())
        return [f"{name}: {mismatched} values differ"] if mismatched else []
    difference = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    allowed = absolute + relative * np.abs(expected.astype(np.float64))
    if np.isnan(difference).any() or (difference > allowed).any():
        return [f"{name}: max abs difference {np.nanmax(difference, initial=0.0):.3g}"]
    return []


def _detection_features(detections: Detections | PoseDetections) -> np.ndarray:
    """``(N, F)`` coordinates compared between matched detections: box, then joints' x, y."""
    coordinates = [detections.boxes.reshape(len(detections), -1)]
    if isinstance(detections, PoseDetections):
        coordinates.append(detections.keypoints[..., :2].reshape(len(detections), -1))
    return np.concatenate(coordinates, axis=1).astype(np.float64)


def _attribute_scores(detections: Detections | PoseDetections) -> np.ndarray:
    """``(N, S)`` probabilities compared between matched detections (attributes, joints)."""
    columns = [detections.scores.reshape(-1, 1)]
    if isinstance(detections, Detections):
        columns += [values.scores for values in detections.attributes.values()]
    else:
        columns.append(detections.keypoints[..., 2])
    return np.concatenate(columns, axis=1).astype(np.float64)


def _classes(detections: Detections | PoseDetections) -> np.ndarray:
    if isinstance(detections, Detections):
        return detections.classes
    return np.zeros(len(detections), dtype=np.int64)


def _detection_differences(
    actual: Detections | PoseDetections,
    expected: Detections | PoseDetections,
    tolerance: Tolerance,
    threshold: float,
) -> list[str]:
    features_a, features_e = _detection_features(actual), _detection_features(expected)
    scores_a, scores_e = _attribute_scores(actual), _attribute_scores(expected)
    classes_a, classes_e = _classes(actual), _classes(expected)
    unmatched = set(range(len(expected)))
    lonely_actual: list[int] = []
    for i in range(len(actual)):
        candidates = [
            j
            for j in unmatched
            if classes_e[j] == classes_a[i]
            and np.abs(scores_a[i] - scores_e[j]).max() <= tolerance.score
        ]
        if not candidates:
            lonely_actual.append(i)
            continue
        distances = [np.abs(features_a[i] - features_e[j]).max() for j in candidates]
        best = candidates[int(np.argmin(distances))]
        allowed = tolerance.coordinate_abs + tolerance.coordinate_rel * np.abs(features_e[best])
        if (np.abs(features_a[i] - features_e[best]) > allowed).any():
            lonely_actual.append(i)
            continue
        unmatched.discard(best)
    return _unforgiven(
        lonely_actual, sorted(unmatched), actual.scores, expected.scores, tolerance, threshold
    )


def _unforgiven(
    lonely_actual: list[int],
    lonely_expected: list[int],
    scores_actual: np.ndarray,
    scores_expected: np.ndarray,
    tolerance: Tolerance,
    threshold: float,
) -> list[str]:
    """Messages for the detections left without a partner, except those that are a tie at the
    cut-off (a score at the threshold, or a tail detection of one side paired with a tail
    detection of the other at the same score: the two engines kept different tied peaks) and up
    to ``tolerance.moved_peaks`` moved peaks on each side."""

    def forgiven_by_threshold(score: float) -> bool:
        return abs(score - threshold) <= tolerance.score

    def at_tail(score: float, scores: np.ndarray) -> bool:
        return score <= float(scores.min()) + tolerance.score

    remaining = [j for j in lonely_expected if not forgiven_by_threshold(float(scores_expected[j]))]
    extra = []
    for i in lonely_actual:
        score = float(scores_actual[i])
        if forgiven_by_threshold(score):
            continue
        partner = next(
            (
                j
                for j in remaining
                if abs(float(scores_expected[j]) - score) <= tolerance.score
                and at_tail(score, scores_actual)
                and at_tail(float(scores_expected[j]), scores_expected)
            ),
            None,
        )
        if partner is None:
            extra.append(i)
        else:
            remaining.remove(partner)
    if len(extra) == len(remaining) <= tolerance.moved_peaks:
        return []
    return [
        f"extra detection {i} (score {float(scores_actual[i]):.4f}) has no counterpart"
        for i in extra
    ] + [
        f"missing detection {j} (score {float(scores_expected[j]):.4f}) has no counterpart"
        for j in remaining
    ]
