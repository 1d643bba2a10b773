"""Draw one video frame's predictions: boxes with labels, lamp states, skeletons, depth and FPS.

The renderer works from the heads' ``describe()`` dicts and the prediction objects alone (an
exported ONNX file carries nothing else), so it needs no plugin code. Box labels are placed last,
strongest first, where they cover no other label, the depth inset or the FPS tag
(:mod:`perception.video.label_layout`). Frames are BGR, as OpenCV reads and writes them; the
colours in the describe dicts and in :mod:`perception.data.draw` are RGB and are reversed once,
when the renderer is built. Lines and text grow with the frame (thickness ``min(H, W) / 360``,
text scale ``min(H, W) / 1200``): a 1280x720 frame gets thickness 2 and 0.6-scale text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import cv2
import numpy as np

from perception.data.draw import CATEGORY_COLOURS, VISIBLE_KEYPOINT, depth_panel
from perception.data.draw_detections import Colour, draw_tag, tag_size
from perception.errors import ConfigError, did_you_mean
from perception.inference.predictions import (
    DepthMap,
    Detections,
    FramePredictions,
    HeadPrediction,
    PoseDetections,
    RawOutputs,
)
from perception.video.label_layout import Rect, place_labels

DepthLayout = Literal["inset", "side", "off"]
"""Where the depth map goes: a corner inset, a panel right of the frame, or nowhere."""


_WHITE: Colour = (255, 255, 255)
_KINDS: dict[type, str] = {Detections: "boxes", PoseDetections: "keypoints", DepthMap: "depth"}
"""The ``describe()["kind"]`` each drawable prediction type comes from."""


def _bgr(rgb: Sequence[int]) -> Colour:
    red, green, blue = (int(channel) for channel in rgb)
    return (blue, green, red)


_PERSON_BGR = _bgr(CATEGORY_COLOURS["pedestrian"])
_JOINT_BGR = _bgr(VISIBLE_KEYPOINT)


@dataclass(frozen=True)
class _Pen:
    """Line thickness, text scale and text stroke for one frame size."""

    thickness: int
    font_scale: float
    text_thickness: int

    @classmethod
    def for_frame(cls, height: int, width: int) -> _Pen:
        short = min(height, width)
        return cls(max(1, round(short / 360)), max(0.4, short / 1200), max(1, round(short / 720)))


@dataclass(frozen=True)
class _Label:
    """A box's label, to be placed once every box of the frame is known."""

    score: float
    box: tuple[float, float, float, float]
    text: str
    colour: Colour


@dataclass(frozen=True)
class _BoxStyle:
    """BGR colours of one box head: per class, and per value of its first coloured attribute
    (a traffic light's lamp state), which takes precedence when predicted."""

    class_colours: tuple[Colour, ...]
    attribute: str | None
    attribute_colours: tuple[Colour, ...]

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> _BoxStyle:
        """Missing ``class_colours`` draw white (a third-party head may not name any)."""
        class_colours = tuple(_bgr(rgb) for rgb in description.get("class_colours", ()))
        for name, attribute in description.get("attributes", {}).items():
            if attribute.get("colours"):
                return cls(class_colours, name, tuple(_bgr(rgb) for rgb in attribute["colours"]))
        return cls(class_colours, None, ())

    def colours(self, detections: Detections, rows: np.ndarray) -> list[Colour]:
        """One BGR colour for each of the detections at ``rows (M,)``."""
        if self.attribute is not None and self.attribute in detections.attributes:
            values = detections.attributes[self.attribute].values[rows]
            return [self.attribute_colours[int(value)] for value in values]
        count = len(self.class_colours)
        return [
            self.class_colours[int(k)] if int(k) < count else _WHITE
            for k in detections.classes[rows]
        ]


def box_labels(detections: Detections) -> list[str]:
    """``"<class> <attribute values...> <score>"`` per detection, e.g. ``"traffic_light red
    0.82"``."""
    columns = [detections.labels()]
    columns += [attribute.labels() for attribute in detections.attributes.values()]
    columns.append([f"{float(score):.2f}" for score in detections.scores])
    return [" ".join(words) for words in zip(*columns, strict=True)]


class FrameRenderer:
    """Draws :data:`FramePredictions` onto BGR video frames.

    Args:
        heads: ``{head: describe() dict}`` of the heads whose predictions will be drawn (an
            engine's ``heads``); ``"kind"`` says how each is drawn, box heads give colours.
        score_threshold: boxes and people scoring below it (and joints below it) are not drawn.
        depth: ``"inset"`` puts the colour-mapped depth in the bottom-right corner, ``"side"`` in
            a panel of the frame's size right of it, ``"off"`` leaves it out.
        inset_fraction: the inset's height and width relative to the frame's, in ``(0, 1]``.
    """

    def __init__(
        self,
        heads: Mapping[str, Mapping[str, Any]],
        score_threshold: float = 0.3,
        depth: DepthLayout = "inset",
        inset_fraction: float = 0.3,
    ) -> None:
        layouts = get_args(DepthLayout)
        if depth not in layouts:
            raise ConfigError(
                f"unknown depth layout '{depth}'{did_you_mean(depth, layouts)}; "
                f"choose one of {', '.join(layouts)}"
            )
        if not 0.0 < inset_fraction <= 1.0:
            raise ConfigError(f"depth inset_fraction must be in (0, 1], got {inset_fraction}")
        self.score_threshold = score_threshold
        self.depth: DepthLayout = depth
        self.inset_fraction = inset_fraction
        self._kinds = {name: description.get("kind") for name, description in heads.items()}
        self._box_styles = {
            name: _BoxStyle.from_description(description)
            for name, description in heads.items()
            if description.get("kind") == "boxes"
        }
        self._side_panel = depth == "side" and "depth" in self._kinds.values()

    def output_size(self, frame_height: int, frame_width: int) -> tuple[int, int]:
        """``(height, width)`` of a rendered frame: twice the width with a side depth panel."""
        return frame_height, frame_width * (2 if self._side_panel else 1)

    def render(
        self,
        frame: np.ndarray,
        predictions: FramePredictions,
        fps: float | None = None,
        in_place: bool = False,
    ) -> np.ndarray:
        """Draw ``predictions`` on ``frame (H, W, 3)`` uint8 BGR; returns ``(H, W', 3)`` uint8 BGR
        with ``(H, W')`` the :meth:`output_size`. ``fps`` is written top left if given.
        :class:`RawOutputs` are not drawn.

        ``frame`` is left alone and drawing happens on a copy, unless ``in_place``: then the
        drawing goes onto ``frame`` itself, which is returned, when the output has the frame's
        size (no side panel). That saves a frame-sized copy for a caller that owns the frame."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
        height, width = frame.shape[:2]
        output_size = self.output_size(height, width)
        if in_place and output_size == (height, width) and frame.flags.writeable:
            canvas = frame
        else:
            canvas = np.empty((*output_size, 3), dtype=np.uint8)
            canvas[:, :width] = frame
        image = canvas[:, :width]
        pen = _Pen.for_frame(height, width)
        depth: DepthMap | None = None
        labels: list[_Label] = []
        for head, prediction in predictions.items():
            if isinstance(prediction, RawOutputs):
                continue
            self._check_kind(head, prediction)
            if isinstance(prediction, Detections):
                labels += self._draw_boxes(image, self._box_styles[head], prediction, pen)
            elif isinstance(prediction, PoseDetections):
                self._draw_people(image, prediction, pen)
            else:
                depth = prediction
        reserved: list[Rect] = []  # what labels should not cover: the inset and the FPS tag
        if self._side_panel:
            panel = (
                depth_panel(None, height, width)
                if depth is None
                else depth_panel(depth.metres, height, width, depth.max_depth)
            )
            canvas[:, width:] = cv2.cvtColor(panel, cv2.COLOR_RGB2BGR)
        elif self.depth == "inset" and depth is not None:
            reserved.append(self._draw_inset(image, depth, pen))
        fps_tag: tuple[str, Rect] | None = None
        if fps is not None:  # top left, pen.thickness in
            text = f"{fps:.1f} FPS"
            fps_width, fps_height = tag_size(text, pen.font_scale, pen.text_thickness)
            fps_tag = (text, (pen.thickness, 0, pen.thickness + fps_width, fps_height))
            reserved.append(fps_tag[1])
        self._draw_labels(image, labels, pen, reserved)
        if fps_tag is not None:
            self._draw_tag(image, *fps_tag, _WHITE, pen)
        return canvas

    def _check_kind(self, head: str, prediction: HeadPrediction) -> None:
        expected = _KINDS[type(prediction)]
        if head not in self._kinds:
            raise ValueError(f"no describe() dict for head '{head}'; known: {sorted(self._kinds)}")
        if self._kinds[head] != expected:
            raise ValueError(
                f"head '{head}' is described as kind {self._kinds[head]!r} but predicted "
                f"{type(prediction).__name__} (kind '{expected}')"
            )

    def _draw_boxes(
        self, image: np.ndarray, style: _BoxStyle, detections: Detections, pen: _Pen
    ) -> list[_Label]:
        """Outline the boxes scoring at least the threshold; their labels, to be placed."""
        rows = np.flatnonzero(detections.scores >= self.score_threshold)
        if not len(rows):
            return []
        texts = box_labels(detections)
        labels = []
        for colour, row in zip(style.colours(detections, rows), rows, strict=True):
            x1, y1, x2, y2 = (float(value) for value in detections.boxes[row])
            cv2.rectangle(
                image, (round(x1), round(y1)), (round(x2), round(y2)), colour, pen.thickness
            )
            labels.append(
                _Label(float(detections.scores[row]), (x1, y1, x2, y2), texts[row], colour)
            )
        return labels

    def _draw_labels(
        self, image: np.ndarray, labels: list[_Label], pen: _Pen, reserved: list[Rect]
    ) -> None:
        """Every head's box labels, placed strongest first so that they cover neither each
        other nor the ``reserved`` areas where there is room
        (:mod:`perception.video.label_layout`)."""
        if not labels:
            return
        labels = sorted(labels, key=lambda label: -label.score)
        sizes = [tag_size(label.text, pen.font_scale, pen.text_thickness) for label in labels]
        spots = place_labels(
            [label.box for label in labels], sizes, image.shape[:2], pen.thickness, reserved
        )
        # weakest first: where a crowded frame leaves no free spot, stronger labels stay on top
        for label, spot in reversed(list(zip(labels, spots, strict=True))):
            self._draw_tag(image, label.text, spot, label.colour, pen)

    @staticmethod
    def _draw_tag(image: np.ndarray, text: str, spot: Rect, colour: Colour, pen: _Pen) -> None:
        """``text`` on its black tag filling ``spot`` (sized by :func:`tag_size`)."""
        left, _, _, bottom = spot
        draw_tag(image, text, left, bottom - 1, colour, pen.font_scale, pen.text_thickness)

    def _draw_people(self, image: np.ndarray, people: PoseDetections, pen: _Pen) -> None:
        """Box, skeleton edges between joints scoring at least the threshold, and joint dots."""
        rows = np.flatnonzero(people.scores >= self.score_threshold)
        corners = np.round(people.boxes[rows]).astype(np.int64).tolist()
        points = np.round(people.keypoints[rows, :, :2]).astype(np.int64).tolist()
        shown = (people.keypoints[rows, :, 2] >= self.score_threshold).tolist()
        radius = pen.thickness + 1
        for (x1, y1, x2, y2), joints, visible in zip(corners, points, shown, strict=True):
            cv2.rectangle(image, (x1, y1), (x2, y2), _PERSON_BGR, pen.thickness)
            for a, b in people.skeleton:
                if visible[a] and visible[b]:
                    cv2.line(image, joints[a], joints[b], _JOINT_BGR, pen.thickness, cv2.LINE_AA)
            for joint, is_visible in zip(joints, visible, strict=True):
                if is_visible:
                    cv2.circle(image, joint, radius, _JOINT_BGR, cv2.FILLED, cv2.LINE_AA)

    def _draw_inset(self, image: np.ndarray, depth: DepthMap, pen: _Pen) -> Rect:
        """The depth map shrunk to ``inset_fraction`` of the frame in its bottom-right corner,
        with a white frame ``pen.thickness`` wide along its top and left edges; returns the
        area drawn over."""
        height, width = image.shape[:2]
        inset_h = max(1, round(height * self.inset_fraction))
        inset_w = max(1, round(width * self.inset_fraction))
        network = depth.network_metres
        shrinking = inset_h < network.shape[0] or inset_w < network.shape[1]
        metres = cv2.resize(
            np.ascontiguousarray(network, dtype=np.float32),
            (inset_w, inset_h),
            interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
        )
        top = max(0, height - inset_h - pen.thickness)
        left = max(0, width - inset_w - pen.thickness)
        image[top:, left:] = 255
        panel = depth_panel(metres, inset_h, inset_w, depth.max_depth)
        image[height - inset_h :, width - inset_w :] = cv2.cvtColor(panel, cv2.COLOR_RGB2BGR)
        return (left, top, width, height)
