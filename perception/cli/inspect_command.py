"""``perception inspect MODEL``: what a model file holds and where it would run here.

For an exported ``.onnx`` file this reads only the file (no plugins needed) and opens it with the
provider preference, so it doubles as a check that a deployment machine can run the file.
"""

from __future__ import annotations

import argparse
from typing import Any

from perception.cli.engine_arguments import add_engine_arguments
from perception.inference.open_engine import open_engine


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inspect", help="show a model's heads and input, and which device or provider runs it"
    )
    parser.add_argument("model", metavar="MODEL", help="an exported .onnx file or a .pt checkpoint")
    add_engine_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    engine = open_engine(args.model, providers=args.providers, device=args.device)
    precision = getattr(engine, "metadata", {}).get("precision", "float32")
    print(
        f"{args.model}: input {engine.input_height}x{engine.input_width} RGB, {precision}, "
        f"runs on {engine.device}"
    )
    for name, description in engine.heads.items():
        print(f"  {name}: {_summary(description)}")
    return 0


def _summary(description: dict[str, Any]) -> str:
    """One line per head: its kind and what it predicts."""
    kind = description.get("kind", "unknown kind")
    if kind == "boxes":
        text = f"boxes of {', '.join(description.get('classes', []))}"
        attributes = description.get("attributes", {})
        if attributes:
            text += " with " + ", ".join(
                f"{attribute} ({'/'.join(entry['values'])})"
                for attribute, entry in attributes.items()
            )
        return text
    if kind == "keypoints":
        return f"people with {len(description.get('keypoint_names', []))} keypoints"
    if kind == "depth":
        return f"depth map, {description.get('min_depth')} to {description.get('max_depth')} m"
    return str(kind)
