"""``perception demo``: run everything that exists end to end on the synthetic world.

At this stage: write a synthetic dataset and driving video (as ``perception synth`` does), then
pull augmented training batches through the configured dataset plugin and data loader and draw
them on a contact sheet, so every part of the data path is exercised.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from perception.cli.config_arguments import add_config_arguments, config_from_arguments
from perception.cli.synth_command import write_synthetic_dataset
from perception.config.loader import save_config
from perception.config.schema import RunConfig
from perception.data.contact_sheet import write_contact_sheet
from perception.data.loader import make_loader
from perception.data.sample import Sample
from perception.plugins import get_plugin_manager


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole pipeline on the synthetic world")
    add_config_arguments(parser)
    parser.add_argument("-o", "--out", metavar="DIR", help="output folder (default: output_dir)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_arguments(args)
    out = Path(args.out or config.output_dir)
    started = time.perf_counter()
    # Resolve the dataset before writing anything, so a bad name or setting fails at once.
    train_set = get_plugin_manager().datasets.get(config.data.dataset).factory(config, "train")
    save_config(config, out / "config.yaml")
    outputs = write_synthetic_dataset(config, out / "data")
    batches_sheet = write_training_batches_sheet(config, train_set, out / "train_batches.png")
    elapsed = time.perf_counter() - started
    print(f"demo finished in {elapsed:.1f} s; outputs under {out}:")
    rows = [
        ("resolved config", out / "config.yaml"),
        *((f"{split} labels", path) for split, path in outputs.annotations.items()),
        ("driving video", outputs.video),
        ("video labels", outputs.video_labels),
        ("contact sheet", outputs.contact_sheet),
        ("augmented batches", batches_sheet),
    ]
    for label, path in rows:
        print(f"  {label:<20}{path}")
    return 0


def write_training_batches_sheet(config: RunConfig, train_set: Dataset[Sample], path: Path) -> Path:
    """Draw the first training samples as the model would see them (letterboxed, augmented)."""
    loader = make_loader(train_set, config.data, train=True, seed=config.seed)
    wanted = config.outputs.contact_sheet_samples
    shown: list[Sample] = []
    for batch in loader:
        shown.extend(batch.samples)
        if len(shown) >= wanted:
            break
    return write_contact_sheet(shown[:wanted], path)
