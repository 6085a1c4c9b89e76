"""``maskops-datasets``: convert, validate and count annotation datasets in YOLO, VOC, COCO and Label Studio.

Progress goes to stderr (``--quiet`` turns it off). Exit codes: 0 done, 2 bad input or
usage, with a last line ``maskops-datasets: error: <file>: <problem>`` (``validate`` lists
every problem it found before it).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from maskops_assets.datasets.annotations import DatasetFormatError
from maskops_assets.datasets.convert import ConversionReport, convert
from maskops_assets.datasets.formats import FORMATS, ReadOptions, get_format
from maskops_assets.datasets.stats import DatasetStats
from maskops_assets.datasets.validation import ValidationLog

PROG = "maskops-datasets"
EXIT_BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    # Skipped items are printed as one report at the end; logging each as well would say it twice.
    logging.getLogger("maskops_assets.datasets.validation").setLevel(logging.ERROR)
    try:
        return args.run(args)
    except (DatasetFormatError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = exc.filename or "a file"
        print(f"{PROG}: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    formats = ", ".join(f"{f.name} ({f.summary})" for f in FORMATS.values())
    parser = argparse.ArgumentParser(prog=PROG, description=f"Annotation datasets. Formats: {formats}.")
    parser.add_argument("-q", "--quiet", action="store_true", help="print no progress")
    commands = parser.add_subparsers(dest="command", required=True)

    conv = commands.add_parser("convert", help="convert SRC in one format into a new folder DST in another")
    conv.add_argument("src", type=Path, metavar="SRC")
    conv.add_argument("dst", type=Path, metavar="DST", help="a new or empty folder")
    conv.add_argument("--from", dest="src_format", required=True, choices=sorted(FORMATS))
    conv.add_argument("--to", dest="dst_format", required=True, choices=sorted(FORMATS))
    conv.add_argument("--skip-invalid", action="store_true", help="leave bad images out and list them")
    conv.add_argument("--report", type=Path, help="also write the conversion report as JSON here")
    conv.add_argument("--symlink-images", action="store_true", help="symlink images instead of copying")
    _add_read_options(conv)
    conv.set_defaults(run=_convert)

    val = commands.add_parser("validate", help="check SRC and list every problem")
    val.add_argument("src", type=Path, metavar="SRC")
    val.add_argument("--format", required=True, choices=sorted(FORMATS))
    _add_read_options(val)
    val.set_defaults(run=_validate)

    stats = commands.add_parser("stats", help="count images per split and boxes per class")
    stats.add_argument("src", type=Path, metavar="SRC")
    stats.add_argument("--format", required=True, choices=sorted(FORMATS))
    stats.add_argument("--skip-invalid", action="store_true", help="count only the valid images")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_read_options(stats)
    stats.set_defaults(run=_stats)
    return parser


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image-root", type=Path, help="coco, labelstudio: the folder image references point into"
    )
    parser.add_argument(
        "--classes",
        help="voc, labelstudio: class names in id order, comma separated "
        "(default: classes.txt, else with_mask,without_mask,mask_weared_incorrect)",
    )
    parser.add_argument(
        "--use-predictions",
        action="store_true",
        help="labelstudio: use model predictions on tasks nobody annotated",
    )


def _class_names(args: argparse.Namespace) -> tuple[str, ...] | None:
    if not args.classes:
        return None
    return tuple(name.strip() for name in args.classes.split(",") if name.strip())


def _convert(args: argparse.Namespace) -> int:
    report = convert(
        args.src,
        args.src_format,
        args.dst,
        args.dst_format,
        skip_invalid=args.skip_invalid,
        copy_images=not args.symlink_images,
        image_root=args.image_root,
        class_names=_class_names(args),
        use_predictions=args.use_predictions,
    )
    _print_skipped(report)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report.to_dict(), indent=1))
    print(report.summary())
    return 0


def _print_skipped(report: ConversionReport) -> None:
    if not report.skipped:
        return
    print(f"skipped {report.skipped_count} item(s):")
    for item in report.skipped:
        print(f"  {item}")


def _read(args: argparse.Namespace, skip_invalid: bool) -> tuple[DatasetStats, ValidationLog]:
    validation = ValidationLog(skip_invalid=skip_invalid)
    options = ReadOptions(validation, args.image_root, _class_names(args), args.use_predictions)
    ds = get_format(args.format).read(args.src, options)
    return DatasetStats.of(ds), validation


def _validate(args: argparse.Namespace) -> int:
    # Collect every problem instead of stopping at the first: the user fixes them in one pass.
    stats, validation = _read(args, skip_invalid=True)
    if validation.skipped:
        for item in validation.skipped:
            print(item, file=sys.stderr)
        problems = f"{len(validation.skipped)} problem(s); {stats.images} image(s) are valid"
        print(f"{PROG}: error: {args.src}: {problems}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"ok: {args.src} ({args.format}): {stats.images} images, {stats.boxes} boxes")
    return 0


def _stats(args: argparse.Namespace) -> int:
    stats, validation = _read(args, skip_invalid=args.skip_invalid)
    if args.json:
        skipped = [item.to_dict() for item in validation.skipped]
        print(json.dumps({**stats.to_dict(), "skipped": skipped}, indent=1))
        return 0
    print(stats.table())
    if validation.skipped:
        print(f"skipped {len(validation.skipped)} invalid item(s); run validate to list them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
