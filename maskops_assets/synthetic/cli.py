"""``maskops-scenes``: make synthetic mask datasets and camera clips from the shell.

    maskops-scenes images OUT --n 120 --seed 0 --domain default|shifted|path.yaml --size 160
    maskops-scenes video OUT.mp4 --frames 300 --fps 15 --size 320x240 --domain shifted
    maskops-scenes domain OUT.yaml --domain shifted     # write a preset as an editable YAML file

Problems a user can fix (bad domain file, occupied output folder, unknown video
type) end with a one-line message on stderr and exit code 2, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from maskops_assets.synthetic.dataset import DEFAULT_SPLITS, generate_dataset
from maskops_assets.synthetic.domain import DomainConfigError, load_domain
from maskops_assets.synthetic.video import generate_video

EXIT_USAGE = 2


def _size(text: str) -> tuple[int, int]:
    """``160`` (square) or ``320x240`` (width x height)."""
    try:
        parts = [int(part) for part in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N or WxH, got {text!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 16:
        raise argparse.ArgumentTypeError(f"size must be N or WxH with sides of at least 16 px, got {text!r}")
    return parts[0], parts[1]


def _splits(text: str) -> dict[str, float]:
    """``0.7,0.15,0.15`` or ``120,30,60``: relative weights of train, val and test."""
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        weights = []
    if len(weights) != 3 or min(weights) < 0 or sum(weights) <= 0:
        raise argparse.ArgumentTypeError(f"splits must be three weights train,val,test, got {text!r}")
    return dict(zip(("train", "val", "test"), weights, strict=True))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maskops-scenes", description="Synthetic face-mask scenes.")
    commands = parser.add_subparsers(dest="command", required=True)

    domain_help = "a preset (default, shifted) or a domain YAML file"
    images = commands.add_parser("images", help="a YOLO dataset of still scenes")
    images.add_argument("out", type=Path, help="output folder (images/, labels/, data.yaml)")
    images.add_argument("--n", type=int, default=120, help="number of images over all splits")
    images.add_argument("--seed", type=int, default=0)
    images.add_argument("--domain", default="default", help=domain_help)
    images.add_argument("--size", type=_size, default=(160, 160), help="N or WxH pixels (default 160)")
    default_splits = ",".join(str(DEFAULT_SPLITS[name]) for name in ("train", "val", "test"))
    images.add_argument(
        "--splits",
        type=_splits,
        default=dict(DEFAULT_SPLITS),
        help=f"relative weights train,val,test (default {default_splits})",
    )
    images.add_argument("--overwrite", action="store_true", help="replace a dataset already in OUT")

    video = commands.add_parser("video", help="a camera clip with per-frame ground truth")
    video.add_argument("out", type=Path, help="output .mp4 or .avi; ground truth goes beside it")
    video.add_argument("--frames", type=int, default=300)
    video.add_argument("--fps", type=float, default=15.0)
    video.add_argument("--seed", type=int, default=0)
    video.add_argument("--domain", default="default", help=domain_help)
    video.add_argument("--size", type=_size, default=(320, 240), help="N or WxH pixels (default 320x240)")

    preset = commands.add_parser("domain", help="write a domain as YAML to edit and pass back via --domain")
    preset.add_argument("out", type=Path)
    preset.add_argument("--domain", default="default", help=domain_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        domain = load_domain(args.domain)
        if args.command == "images":
            data_yaml = generate_dataset(
                args.out,
                args.n,
                domain=domain,
                seed=args.seed,
                image_size=args.size,
                splits=args.splits,
                overwrite=args.overwrite,
            )
            print(data_yaml)
        elif args.command == "video":
            result = generate_video(
                args.out, n_frames=args.frames, fps=args.fps, domain=domain, seed=args.seed, size=args.size
            )
            print(result.video)
            print(result.groundtruth)
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            print(domain.to_yaml(args.out))
    except (DomainConfigError, FileExistsError, ValueError, OSError) as exc:
        print(f"maskops-scenes {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
