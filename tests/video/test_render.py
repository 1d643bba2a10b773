"""FrameRenderer: predictions drawn on BGR frames, with the colours, layouts and sizes promised."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from perception.config.loader import load_config
from perception.data.draw import CATEGORY_COLOURS, VISIBLE_KEYPOINT
from perception.data.draw_detections import tag_size
from perception.errors import ConfigError
from perception.inference.predictions import (
    AttributeValues,
    DepthMap,
    Detections,
    FramePredictions,
    PoseDetections,
    RawOutputs,
)
from perception.model.build import build_model
from perception.video import render
from perception.video.render import FrameRenderer, box_labels
from tests.conftest import REPO_ROOT

HEIGHT, WIDTH = 180, 320
"""Small frames: lines 1 pixel wide, so exact pixels can be checked."""

LIGHTS: dict[str, Any] = {
    "kind": "boxes",
    "classes": ["traffic_light"],
    "class_colours": [[255, 255, 255]],
    "attributes": {
        "state": {"values": ["red", "green"], "colours": [[255, 0, 0], [0, 255, 0]]},
        "flashing": {"values": ["no", "yes"], "colours": None},
    },
}
"""A hand-written describe() dict, as a third-party head might export it."""


@pytest.fixture(scope="module")
def heads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The built-in heads' describe() dicts."""
    output_dir = tmp_path_factory.mktemp("run")
    config = load_config(REPO_ROOT / "configs" / "tiny.yaml", [f"output_dir={output_dir}"])
    return {name: head.describe() for name, head in build_model(config).task_heads()}


def noise_frame(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def boxes(
    corners: list[list[float]],
    scores: list[float],
    class_names: tuple[str, ...],
    attributes: dict[str, AttributeValues] | None = None,
) -> Detections:
    return Detections(
        boxes=np.array(corners, np.float32).reshape(-1, 4),
        scores=np.array(scores, np.float32),
        classes=np.zeros(len(scores), np.int64),
        class_names=class_names,
        attributes=attributes or {},
    )


def lights(state: int, score: float = 0.82) -> Detections:
    attributes = {
        "state": AttributeValues(("red", "green"), np.array([state]), np.array([[0.9, 0.1]])),
        "flashing": AttributeValues(("no", "yes"), np.array([0]), np.array([[0.7, 0.3]])),
    }
    return boxes([[100, 60, 140, 150]], [score], ("traffic_light",), attributes)


def person(score: float = 0.9) -> PoseDetections:
    """One person with two joints, 100 pixels apart on row 90, and one edge between them."""
    keypoints = np.array([[[100.0, 90.0, score], [200.0, 90.0, score]]], np.float32)
    return PoseDetections(
        boxes=np.array([[80, 40, 220, 170]], np.float32),
        scores=np.array([score], np.float32),
        keypoints=keypoints,
        keypoint_names=("left", "right"),
        skeleton=((0, 1),),
    )


def near_depth(height: int = HEIGHT, width: int = WIDTH) -> DepthMap:
    """Everything almost touching the camera: the hottest TURBO colour."""
    return DepthMap(network_metres=np.full((height, width), 0.01, np.float32), max_depth=100.0)


def hottest_turbo_bgr() -> np.ndarray:
    return cv2.applyColorMap(np.full((1, 1), 255, np.uint8), cv2.COLORMAP_TURBO)[0, 0]


def bgr(rgb: tuple[int, int, int]) -> list[int]:
    return list(rgb[::-1])


def all_heads() -> FramePredictions:
    return {
        "traffic_lights": boxes([[10, 10, 30, 50]], [0.9], ("traffic_light",)),
        "cars": boxes([[50, 60, 150, 120]], [0.8], ("car",)),
        "pedestrian_keypoints": person(),
        "depth": near_depth(),
    }


@pytest.mark.parametrize(
    ("layout", "width"), [("inset", WIDTH), ("side", 2 * WIDTH), ("off", WIDTH)]
)
def test_output_size_follows_the_layout_and_only_in_place_drawing_changes_the_frame(
    heads: dict[str, dict[str, Any]], layout: str, width: int
) -> None:
    """In place, the drawing goes onto the frame itself unless a side panel widens the output."""
    renderer = FrameRenderer(heads, depth=layout)  # type: ignore[arg-type]
    frame = noise_frame()
    original = frame.copy()
    rendered = renderer.render(frame, all_heads(), fps=25.0)
    assert renderer.output_size(HEIGHT, WIDTH) == (HEIGHT, width)
    assert rendered.shape == (HEIGHT, width, 3)
    assert rendered.dtype == np.uint8
    np.testing.assert_array_equal(frame, original)
    assert not np.array_equal(rendered[:, :WIDTH], frame)
    drawn_in_place = renderer.render(frame, all_heads(), fps=25.0, in_place=True)
    np.testing.assert_array_equal(drawn_in_place, rendered)
    onto_the_frame = width == WIDTH
    assert (drawn_in_place is frame) == onto_the_frame
    assert np.array_equal(frame, original) != onto_the_frame


def test_in_place_drawing_copies_a_read_only_frame(heads: dict[str, dict[str, Any]]) -> None:
    frame = noise_frame()
    frame.flags.writeable = False
    rendered = FrameRenderer(heads).render(frame, all_heads(), in_place=True)
    assert rendered is not frame and not np.shares_memory(rendered, frame)


def test_side_layout_without_a_depth_head_keeps_the_frame_size() -> None:
    renderer = FrameRenderer({"lights": LIGHTS}, depth="side")
    assert renderer.output_size(HEIGHT, WIDTH) == (HEIGHT, WIDTH)
    assert renderer.render(noise_frame(), {"lights": lights(0)}).shape == (HEIGHT, WIDTH, 3)


def test_a_red_light_is_boxed_in_bgr_red() -> None:
    rendered = FrameRenderer({"lights": LIGHTS}).render(noise_frame(), {"lights": lights(0)})
    red = [0, 0, 255]
    for y, x in [(100, 100), (100, 140), (150, 120)]:  # left, right and bottom edges
        assert rendered[y, x].tolist() == red
    label_band = rendered[45:59, 100:200]
    assert (np.abs(label_band.astype(int) - red).sum(axis=2) < 60).any()
    green = FrameRenderer({"lights": LIGHTS}).render(noise_frame(), {"lights": lights(1)})
    assert green[100, 100].tolist() == [0, 255, 0]


def test_a_weaker_box_s_label_does_not_cover_a_stronger_one(
    heads: dict[str, dict[str, Any]],
) -> None:
    renderer = FrameRenderer({"lights": LIGHTS, "cars": heads["cars"]})
    grey = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    light = lights(0, score=0.9)  # box 100, 60, 140, 150; its label is the wider
    car = boxes([[104, 62, 200, 120]], [0.5], ("car",))  # its label's usual spot: the light's
    rendered = renderer.render(grey, {"lights": light, "cars": car})
    width, height = tag_size(box_labels(light)[0], 0.4, 1)
    light_tag = rendered[60 - 1 - height : 60 - 1, 100 : 100 + width].astype(int)
    car_colour = bgr(CATEGORY_COLOURS["car"])
    assert (np.abs(light_tag - [0, 0, 255]).sum(axis=2) < 60).any(), "the light's red label"
    assert not (np.abs(light_tag - car_colour).sum(axis=2) < 60).any()
    car_tag = rendered[63 : 63 + height, 104:200].astype(int)  # just inside the car's top edge
    assert (np.abs(car_tag - car_colour).sum(axis=2) < 60).any()


def test_labels_are_drawn_weakest_first_so_the_strongest_stays_on_top(
    heads: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    monkeypatch.setattr(render, "draw_tag", lambda image, text, *args: drawn.append(text))
    cars = boxes([[50, 60, 150, 120], [60, 60, 150, 120], [70, 60, 150, 120]], [0.5, 0.8, 0.6],
                 ("car",))  # fmt: skip
    FrameRenderer(heads).render(noise_frame(), {"cars": cars}, fps=10.0)
    assert drawn == ["car 0.50", "car 0.60", "car 0.80", "10.0 FPS"]


def test_a_label_is_drawn_over_the_depth_inset_not_under_it(
    heads: dict[str, dict[str, Any]],
) -> None:
    car = boxes([[250, 140, 300, 170]], [0.8], ("car",))  # under the inset (bottom-right 30%)
    rendered = FrameRenderer(heads).render(noise_frame(), {"cars": car, "depth": near_depth()})
    inset = rendered[HEIGHT - 54 :, WIDTH - 96 :].astype(int)
    assert (np.abs(inset - bgr(CATEGORY_COLOURS["car"])).sum(axis=2) < 60).any()


def test_box_labels_name_class_attribute_values_and_score() -> None:
    assert box_labels(lights(0)) == ["traffic_light red no 0.82"]
    assert box_labels(boxes([[0, 0, 5, 5]], [0.456], ("car",))) == ["car 0.46"]


def test_a_car_is_boxed_in_its_class_colour(heads: dict[str, dict[str, Any]]) -> None:
    car = boxes([[50, 60, 150, 120]], [0.8], ("car",))
    rendered = FrameRenderer(heads).render(noise_frame(), {"cars": car})
    assert rendered[90, 50].tolist() == bgr(CATEGORY_COLOURS["car"])
    assert rendered[120, 100].tolist() == bgr(CATEGORY_COLOURS["car"])


def test_a_box_head_without_colours_draws_white() -> None:
    signs = {"kind": "boxes", "classes": ["sign"]}
    rendered = FrameRenderer({"signs": signs}).render(
        noise_frame(), {"signs": boxes([[50, 60, 150, 120]], [0.8], ("sign",))}
    )
    assert rendered[90, 50].tolist() == [255, 255, 255]


def test_detections_below_the_threshold_draw_nothing(heads: dict[str, dict[str, Any]]) -> None:
    renderer = FrameRenderer({**heads, "lights": LIGHTS}, score_threshold=0.5)
    frame = noise_frame()
    weak = {
        "cars": boxes([[50, 60, 150, 120]], [0.49], ("car",)),
        "lights": lights(0, score=0.2),
        "pedestrian_keypoints": person(score=0.3),
    }
    np.testing.assert_array_equal(renderer.render(frame, weak), frame)
    strong = {"cars": boxes([[50, 60, 150, 120]], [0.5], ("car",))}
    assert not np.array_equal(renderer.render(frame, strong), frame)


def test_a_skeleton_edge_joins_its_joints(heads: dict[str, dict[str, Any]]) -> None:
    rendered = FrameRenderer(heads).render(noise_frame(), {"pedestrian_keypoints": person()})
    joint = np.array(bgr(VISIBLE_KEYPOINT))
    assert rendered[90, 100].tolist() == rendered[90, 200].tolist() == joint.tolist()  # dots
    along_the_edge = rendered[90, 110:191].astype(int)  # anti-aliased: nearly the joint colour
    assert (np.abs(along_the_edge - joint).max(axis=1) < 32).all()
    assert rendered[100, 80].tolist() == bgr(CATEGORY_COLOURS["pedestrian"])
    frame = noise_frame()
    assert rendered[60, 150].tolist() == frame[60, 150].tolist()  # inside the box, off the edge


def test_the_depth_inset_fills_the_bottom_right_corner_only(
    heads: dict[str, dict[str, Any]],
) -> None:
    frame = noise_frame()
    rendered = FrameRenderer(heads, inset_fraction=0.25).render(frame, {"depth": near_depth()})
    top, left = HEIGHT - 45, WIDTH - 80  # the inset is 45x80
    assert (rendered[top:, left:] == hottest_turbo_bgr()).all()
    assert (rendered[top - 1, left - 1 :] == 255).all()  # white frame above
    assert (rendered[top - 1 :, left - 1] == 255).all()  # and to the left
    np.testing.assert_array_equal(rendered[: top - 1], frame[: top - 1])
    np.testing.assert_array_equal(rendered[:, : left - 1], frame[:, : left - 1])


def test_the_off_layout_draws_no_depth(heads: dict[str, dict[str, Any]]) -> None:
    frame = noise_frame()
    rendered = FrameRenderer(heads, depth="off").render(frame, {"depth": near_depth()})
    np.testing.assert_array_equal(rendered, frame)


def test_the_side_panel_holds_the_depth_and_boxes_stay_in_the_frame(
    heads: dict[str, dict[str, Any]],
) -> None:
    frame = noise_frame()
    beyond_the_right_edge = boxes([[250, 60, 400, 120]], [0.8], ("car",))
    predictions = {"cars": beyond_the_right_edge, "depth": near_depth()}
    rendered = FrameRenderer(heads, depth="side").render(frame, predictions)
    assert (rendered[:, WIDTH:] == hottest_turbo_bgr()).all()
    assert rendered[90, 250].tolist() == bgr(CATEGORY_COLOURS["car"])
    np.testing.assert_array_equal(rendered[:, :240], frame[:, :240])


def test_the_side_panel_without_depth_predicted_is_black_with_a_note(
    heads: dict[str, dict[str, Any]],
) -> None:
    rendered = FrameRenderer(heads, depth="side").render(noise_frame(), {})
    panel = rendered[:, WIDTH:]
    assert (panel[40:] == 0).all()
    assert (panel[:40] > 0).any()


def test_fps_is_written_top_left_only_when_given(heads: dict[str, dict[str, Any]]) -> None:
    renderer = FrameRenderer(heads)
    frame = noise_frame()
    np.testing.assert_array_equal(renderer.render(frame, {}), frame)
    rendered = renderer.render(frame, {}, fps=12.3)
    changed_rows, changed_columns = np.nonzero((rendered != frame).any(axis=2))
    assert changed_rows.max() < 30
    assert changed_columns.max() < 100


def test_lines_thicken_with_the_frame(heads: dict[str, dict[str, Any]]) -> None:
    car = {"cars": boxes([[100, 50, 400, 200]], [0.8], ("car",))}
    colour = bgr(CATEGORY_COLOURS["car"])

    def left_edge_width(height: int, width: int) -> int:
        rendered = FrameRenderer(heads).render(noise_frame(height, width), car)
        return int((rendered[120, 90:110] == colour).all(axis=1).sum())

    assert left_edge_width(240, 427) == 1
    assert left_edge_width(240, 427) < left_edge_width(720, 1280) < left_edge_width(1080, 1920)


def test_an_unknown_depth_layout_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"'insert'.*did you mean 'inset'"):
        FrameRenderer({}, depth="insert")  # type: ignore[arg-type]


def test_an_inset_fraction_outside_0_1_is_refused() -> None:
    with pytest.raises(ConfigError, match="inset_fraction"):
        FrameRenderer({}, inset_fraction=0.0)


def test_raw_outputs_are_ignored() -> None:
    frame = noise_frame()
    lanes = RawOutputs({"points": np.zeros((3, 2), np.float32)})
    rendered = FrameRenderer({"lanes": {"kind": "lanes"}}).render(frame, {"lanes": lanes})
    np.testing.assert_array_equal(rendered, frame)


def test_predictions_must_match_the_described_heads(heads: dict[str, dict[str, Any]]) -> None:
    renderer = FrameRenderer(heads)
    with pytest.raises(ValueError, match="no describe"):
        renderer.render(noise_frame(), {"lights": lights(0)})
    with pytest.raises(ValueError, match="'depth' is described as kind 'depth'"):
        renderer.render(noise_frame(), {"depth": lights(0)})


def test_a_frame_that_is_not_bgr_uint8_is_refused() -> None:
    renderer = FrameRenderer({})
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        renderer.render(np.zeros((HEIGHT, WIDTH), np.uint8), {})
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        renderer.render(np.zeros((HEIGHT, WIDTH, 3), np.float32), {})
