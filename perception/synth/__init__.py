"""The procedural driving world: 3D scenes rendered with OpenCV into labelled samples.

Public entry points: :func:`render_scene`, :func:`render_scene_with_instances` (single images)
and :func:`render_sequence` (clips of one persistent, moving world). Everything is
deterministic in the seed.
"""

from perception.synth.sequence import render_sequence
from perception.synth.world import render_scene, render_scene_with_instances

__all__ = ["render_scene", "render_scene_with_instances", "render_sequence"]
