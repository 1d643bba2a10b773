"""``perception synth``: write the synthetic driving world to disk in real formats.

Output layout under ``-o OUT`` (default: the config's ``output_dir``)::

    OUT/config.yaml                     the resolved config
    OUT/images/{train,val}/*.png        RGB images
    OUT/depth/{train,val}/*.png         16-bit depth, metres x 256 (KITTI encoding), 0 = none
    OUT/annotations/{train,val}.json    COCO-style boxes, attributes and keypoints
    OUT/video/drive.mp4                 a driving sequence (mp4v)
    OUT/video/drive.json                its per-frame labels (same COCO-style format)
    OUT/contact_sheet.png               samples with every label drawn
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from perception.cli.config_arguments import add_config_arguments, config_from_arguments
from perception.config.loader import save_config
from perception.config.schema import RunConfig
from perception.data.coco_reader import CocoDataset
from perception.data.coco_writer import write_split
from perception.data.contact_sheet import write_contact_sheet
from perception.data.sample import Sample
from perception.data.video_writer import write_video
from perception.plugins import get_plugin_manager
from perception.synth.sequence import render_sequence

SYNTHETIC_DATASET = "synthetic"


@dataclass(frozen=True)
class SynthOutputs:
    """Paths written by :func:`write_synthetic_dataset`."""

    root: Path
    annotations: dict[str, Path]
    video: Path
    video_labels: Path
    contact_sheet: Path


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "synth", help="write a synthetic driving dataset, a driving video and a contact sheet"
    )
    add_config_arguments(parser)
    parser.add_argument("-o", "--out", metavar="DIR", help="output folder (default: output_dir)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_arguments(args)
    outputs = write_synthetic_dataset(config, Path(args.out or config.output_dir))
    print(f"dataset: {outputs.root} ({', '.join(str(p) for p in outputs.annotations.values())})")
    print(f"video: {outputs.video} (labels {outputs.video_labels})")
    print(f"contact sheet: {outputs.contact_sheet}")
    return 0


def write_synthetic_dataset(config: RunConfig, root: Path) -> SynthOutputs:
    """Render the train and val splits, a driving video and a contact sheet under ``root``.

    The splits hold exactly the scenes the ``synthetic`` dataset plugin yields for the same
    config, so training on the folder (dataset ``coco``) and on the fly (``synthetic``) agree.
    """
    root.mkdir(parents=True, exist_ok=True)
    save_config(config, root / "config.yaml")
    counts = {"train": config.outputs.train_images, "val": config.outputs.val_images}
    annotations = {
        split: write_split(
            tqdm(_rendered_split(config, split, count), total=count, desc=f"synth {split}"),
            root,
            split,
        )
        for split, count in counts.items()
        if count > 0
    }
    frames = config.outputs.video_frames
    video, video_labels = write_video(
        tqdm(
            render_sequence(config.synth, config.seed, frames, config.outputs.video_fps),
            total=frames,
            desc="synth video",
        ),
        root / "video" / "drive.mp4",
        fps=config.outputs.video_fps,
    )
    sheet_split = "train" if "train" in annotations else "val"
    dataset = CocoDataset(root, sheet_split)
    shown = [dataset[i] for i in range(min(config.outputs.contact_sheet_samples, len(dataset)))]
    contact_sheet = write_contact_sheet(shown, root / "contact_sheet.png")
    return SynthOutputs(root, annotations, video, video_labels, contact_sheet)


def _rendered_split(config: RunConfig, split: str, count: int) -> Iterator[Sample]:
    """Yield the split's scenes in order, rendered by ``data.num_workers`` processes."""
    split_config = dataclasses.replace(
        config, data=dataclasses.replace(config.data, num_images=count, val_num_images=count)
    )
    factory = get_plugin_manager().datasets.get(SYNTHETIC_DATASET).factory
    dataset = factory(split_config, split)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=config.data.num_workers,
        collate_fn=_identity,
    )
    yield from loader


def _identity(sample: Sample) -> Sample:
    return sample
