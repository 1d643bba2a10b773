"""Rendering a sampled world into a labelled :class:`Sample` (the public entry points)."""

from __future__ import annotations

import numpy as np

from perception.config.schema import SynthConfig
from perception.data.sample import Sample
from perception.synth.buildings import draw_buildings
from perception.synth.canvas import Canvas
from perception.synth.effects import apply_conditions
from perception.synth.ground import draw_road, draw_sky_and_ground
from perception.synth.labels import Drawn, collect_labels, painted_area
from perception.synth.objects.pedestrian import Pedestrian
from perception.synth.objects.traffic_light import TrafficLight
from perception.synth.scene import Scene, sample_scene

DRAW_DISTANCE = 250.0
"""Objects whose anchor lies farther than this (metres along the optical axis) are skipped."""


def render_scene(config: SynthConfig, seed: int) -> Sample:
    """Render one labelled image of a fresh world drawn from ``seed`` (deterministic)."""
    sample, _ = render_frame(*_world(config, seed), 0.0)
    return sample


def render_scene_with_instances(config: SynthConfig, seed: int) -> tuple[Sample, np.ndarray]:
    """Like :func:`render_scene`, also returning the ``(H, W)`` int32 instance map: the index
    of the box owning each pixel, -1 for background, distractors and dropped objects."""
    sample, raw = render_frame(*_world(config, seed), 0.0)
    tracks = np.asarray(sample.meta["track_ids"], np.int64)
    lut = np.full(int(raw.max()) + 2, -1, np.int32)
    lut[tracks + 1] = np.arange(len(tracks), dtype=np.int32)
    return sample, lut[raw + 1]


def _world(
    config: SynthConfig, seed: int
) -> tuple[SynthConfig, Scene, np.random.Generator, int, str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    return config, sample_scene(config, rng), rng, seed, f"synth-{seed:08d}"


def render_frame(
    config: SynthConfig,
    scene: Scene,
    rng: np.random.Generator,
    seed: int,
    image_id: str,
    time: float,
) -> tuple[Sample, np.ndarray]:
    """Render ``scene`` as seen at ``time`` seconds.

    Returns the sample and the raw ``(H, W)`` int32 instance map holding track ids (object
    indices in ``scene.objects``), -1 for unlabelled pixels. ``rng`` drives the image effects.
    """
    camera = scene.rig.camera(config.width, config.height, time)
    canvas = Canvas(camera)
    conditions = scene.conditions
    style = conditions.style()
    palette = conditions.palette
    draw_sky_and_ground(canvas, palette.sky_top, palette.sky_horizon, scene.road.verge)
    draw_road(canvas, scene.road)
    draw_buildings(canvas, scene.buildings, style)

    half_fov = camera.cx / camera.fx
    order: list[tuple[float, int]] = []
    for track, obj in enumerate(scene.objects):
        x, _, z = camera.to_camera(obj.anchor(time))
        if -8.0 < z < DRAW_DISTANCE and abs(x) < max(z, 0.0) * half_fov + 8.0:
            order.append((float(z), track))
    order.sort(reverse=True)

    drawn: list[Drawn] = []
    for _, track in order:
        obj = scene.objects[track]
        instance = track if obj.category >= 0 else -1
        hidden = obj.draw(canvas, instance, time, style)
        if instance < 0:
            continue
        record = Drawn(track, obj.category, -1, painted_area(canvas, track))
        if isinstance(obj, TrafficLight):
            record.light_state = obj.light_state(time)
        if isinstance(obj, Pedestrian):
            record.keypoints = camera.to_camera(obj.joints(time)[0])
            record.self_hidden = hidden
        drawn.append(record)

    labels = collect_labels(canvas, drawn)
    image = apply_conditions(canvas.color, canvas.depth, conditions, rng)
    meta: dict[str, object] = {
        **conditions.to_meta(),
        "camera": {
            **camera.intrinsics(),
            "height": camera.height_above_ground,
            "pitch": camera.pitch,
            "yaw": camera.yaw,
            "z": float(camera.position[2]),
        },
        "seed": seed,
        "time": time,
        "track_ids": labels.tracks.tolist(),
        "depth_ranges": labels.depth_ranges.tolist(),
    }
    sample = Sample(
        image=image,
        boxes=labels.boxes,
        category=labels.category,
        light_state=labels.light_state,
        occluded=labels.occluded,
        truncated=labels.truncated,
        keypoints=labels.keypoints,
        depth=canvas.depth,
        image_id=image_id,
        meta=meta,
    )
    return sample, canvas.instance
