"""Can a small detector learn the synthetic mask scenes? Train YOLOv8n from scratch and measure.

Generates train/val/test splits with maskops_assets.synthetic, trains YOLOv8n from
``yolov8n.yaml`` (random init, no downloaded weights) on the CPU, validates the
best checkpoint on the held-out test split and prints::

    learnability mAP50=<x> mAP50-95=<y>

plus AP per class and the elapsed minutes. Exits 1 when mAP50 is below
``--min-map50`` (0.8 by default), so it doubles as a check on the scene design.

With ``--n-shifted`` (60 by default, 0 to skip) the same model is also scored on
test images from ``SceneDomain.shifted()`` and prints ``shifted-domain mAP50=...``:
how much the deliberate domain shift costs a model that never saw it, which is the
gap the drift and active-learning loops exist to close. It does not affect the exit code.

    .venv/bin/python bench/learnability.py --epochs 30 --n-train 120 --n-test 60 --imgsz 160 --seed 0
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from maskops_assets.synthetic.dataset import generate_dataset
from maskops_assets.synthetic.domain import DomainConfigError, SceneDomain, load_domain
from maskops_assets.training.ultralytics_env import prepare_ultralytics
from maskops_contracts.classes import CLASS_NAMES

if TYPE_CHECKING:
    from ultralytics import YOLO
    from ultralytics.utils.metrics import Metric


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-train", type=int, default=120)
    parser.add_argument(
        "--n-val", type=int, default=None, help="images scored after each epoch (default n-train/4)"
    )
    parser.add_argument(
        "--n-test", type=int, default=60, help="held-out images the final score is measured on"
    )
    parser.add_argument(
        "--n-shifted", type=int, default=60, help="shifted-domain test images to also score on (0: skip)"
    )
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--domain", default="default", help="default, shifted or a domain YAML file")
    # 120 images at ultralytics' default batch 16 and nominal batch 64 would take one
    # optimiser step per 64 images: 60 steps in 30 epochs, too few for a from-scratch
    # network. Batch 8 with nbs 8 steps after every batch (450 steps).
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--nbs", type=int, default=8, help="ultralytics' nominal batch size (gradient accumulation)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument(
        "--min-map50", type=float, default=0.8, help="exit 1 when the test mAP50 is below this"
    )
    parser.add_argument("--out", type=Path, default=Path("var/bench/learnability"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    started = time.monotonic()
    out = args.out.resolve()
    try:
        domain = load_domain(args.domain)
    except DomainConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    n_val = args.n_val if args.n_val is not None else max(1, args.n_train // 4)
    splits = {"train": args.n_train, "val": n_val, "test": args.n_test}
    print(f"generating {splits} at {args.imgsz}px, domain {args.domain}, seed {args.seed}", flush=True)
    data_yaml = generate_dataset(
        out / "data",
        sum(splits.values()),
        domain=domain,
        seed=args.seed,
        image_size=args.imgsz,
        splits=splits,
        overwrite=True,
    )

    env = prepare_ultralytics(out / "ultralytics", threads=args.threads)
    from ultralytics import YOLO  # after prepare_ultralytics: it reads its settings at import

    print(f"training yolov8n from scratch: {args.epochs} epochs, {env.threads} threads", flush=True)
    model = YOLO("yolov8n.yaml")
    model.train(
        data=str(data_yaml),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        nbs=args.nbs,
        device="cpu",
        workers=0,
        plots=False,
        seed=args.seed,
        deterministic=True,
        project=str(out / "runs"),
        name="train",
        exist_ok=True,
    )
    box = _score(model, data_yaml, "test", args, out)
    minutes = (time.monotonic() - started) / 60
    _print_scores("learnability", box)
    print(f"elapsed {minutes:.1f} min (epochs={args.epochs} n_train={args.n_train} imgsz={args.imgsz})")

    if args.n_shifted > 0:
        print(f"scoring the same model on {args.n_shifted} shifted-domain images", flush=True)
        shifted_yaml = _shifted_test_set(out / "data_shifted", args)
        _print_scores("shifted-domain", _score(model, shifted_yaml, "test_shifted", args, out))

    if box.map50 < args.min_map50:
        print(f"FAIL: mAP50 {box.map50:.3f} is below {args.min_map50}", file=sys.stderr)
        return 1
    return 0


def _score(model: YOLO, data_yaml: Path, name: str, args: argparse.Namespace, out: Path) -> Metric:
    """Box metrics of ``model`` on the test split of ``data_yaml``."""
    metrics = model.val(
        data=str(data_yaml),
        split="test",
        imgsz=args.imgsz,
        batch=args.batch,
        device="cpu",
        workers=0,
        plots=False,
        project=str(out / "runs"),
        name=name,
        exist_ok=True,
    )
    return metrics.box


def _print_scores(label: str, box: Metric) -> None:
    print(f"{label} mAP50={box.map50:.3f} mAP50-95={box.map:.3f}")
    for position, class_id in enumerate(box.ap_class_index):
        name = CLASS_NAMES[int(class_id)]
        print(f"  {name:<24} AP50={box.ap50[position]:.3f} AP50-95={box.ap[position]:.3f}")


def _shifted_test_set(out: Path, args: argparse.Namespace) -> Path:
    data_yaml = generate_dataset(
        out,
        args.n_shifted,
        domain=SceneDomain.shifted(),
        seed=args.seed,
        image_size=args.imgsz,
        splits={"test": 1.0},
        overwrite=True,
    )
    # ultralytics refuses a data.yaml without train and val keys even when only
    # validating, so point both at the test images; nothing trains on this file.
    config = yaml.safe_load(data_yaml.read_text())
    config.update(train=config["test"], val=config["test"])
    scoring_yaml = out / "scoring.yaml"
    scoring_yaml.write_text(yaml.safe_dump(config, sort_keys=False))
    return scoring_yaml


if __name__ == "__main__":
    sys.exit(main())
