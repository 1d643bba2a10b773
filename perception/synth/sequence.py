"""Clips: the ego camera drives along the road through one persistent, moving world."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from perception.config.schema import SynthConfig
from perception.data.sample import Sample
from perception.synth.scene import sample_scene
from perception.synth.world import render_frame


def render_sequence(
    config: SynthConfig, seed: int, num_frames: int, fps: float
) -> Iterator[Sample]:
    """Yield ``num_frames`` samples at ``fps`` of one world drawn from ``seed``.

    Objects keep their identity: ``meta["track_ids"]`` (aligned to the boxes) is the same id
    for the same object in every frame. Cars drive along their lanes, pedestrians walk with an
    animated gait, the camera drives forward at its rig speed. Each frame's sensor effects use
    their own generator derived from ``(seed, frame)``, so frames are reproducible one by one.
    """
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    rng = np.random.Generator(np.random.PCG64(seed))
    scene = sample_scene(config, rng, duration=num_frames / fps)
    for frame in range(num_frames):
        frame_rng = np.random.Generator(np.random.PCG64([seed, frame]))
        image_id = f"synth-{seed:08d}-{frame:05d}"
        sample, _ = render_frame(config, scene, frame_rng, seed, image_id, frame / fps)
        sample.meta["frame"] = frame
        yield sample
