"""``maskops-datasets``: convert, validate and count annotation datasets in YOLO, VOC, COCO and Label Studio.

Progress goes to stderr (``--quiet`` turns it off). Warnings (input used after a repair,
such as a VOC ``<size>`` that disagrees with its image, or a stand-in val split) go to
stderr as ``maskops-datasets: warning: <file>: <what>`` lines, also with ``--quiet``,
and all of them into the ``--report`` JSON. Exit codes: 0 done, 2 bad input or usage,
with a last line ``maskops-datasets: error: <file>: <problem>`` (``validate`` lists
every problem it found before it). A conversion that finds nothing valid to write is
such an error, and writes no dataset (the ``--report`` JSON is still written).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from maskops_assets.datasets.annotations import DatasetFormatError
from maskops_assets.datasets.convert import ConversionReport, NothingToConvert, convert
from maskops_assets.datasets.formats import FORMATS, ReadOptions, get_format
from maskops_assets.datasets.split import parse_ratios
from maskops_assets.datasets.stats import DatasetStats
from maskops_assets.datasets.validation import ValidationLog, ValidationWarning

PROG = "maskops-datasets"
EXIT_BAD_INPUT = 2
# Enough warning lines on the terminal to see the pattern; the --report JSON has all of them.
_PRINTED_WARNINGS = 20

_SPLIT_HELP = (
    "re-split every image by the hash of its bytes (deterministic, stable as images are added) "
    "with these train,val,test weights, e.g. 0.8,0.1,0.1 or 80,10,10; replaces any split the "
    "source has. Without --split images keep the source's splits (VOC ImageSets/Main lists, a "
    "COCO or Label Studio 'split' key, YOLO's data.yaml); YOLO output puts images without one in train. "
    "ultralytics requires train and val: when the written YOLO set has no val images, val "
    "points at the train images and a warning says so (fine to evaluate a held-out set with "
    "'yolo val'; to train, use --split for a real validation set)"
)


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
    conv.add_argument("--split", type=_split_ratios, metavar="TRAIN,VAL,TEST", help=_SPLIT_HELP)
    conv.add_argument(
        "--keep-difficult",
        action="store_true",
        help="yolo: write boxes flagged difficult (VOC <difficult>1) as ordinary boxes; by default "
        "they are left out of the labels, as ultralytics' VOC converter does, and the report counts "
        "them (voc, coco and labelstudio keep the flag either way)",
    )
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


def _split_ratios(text: str) -> tuple[float, float, float]:
    try:
        return parse_ratios(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _convert(args: argparse.Namespace) -> int:
    try:
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
            split=args.split,
            keep_difficult=args.keep_difficult,
        )
    except NothingToConvert as exc:
        _print_skipped(exc.report)
        _print_warnings(exc.report.warnings)
        if args.report:
            _write_report(args.report, {**exc.report.to_dict(), "error": str(exc)})
            where = f"see {args.report}"
        else:
            where = "listed above; --report FILE saves them as JSON" if exc.report.skipped else ""
        print(f"{PROG}: error: {exc}" + (f" ({where})" if where else ""), file=sys.stderr)
        return EXIT_BAD_INPUT
    _print_skipped(report)
    _print_warnings(report.warnings)
    if args.report:
        _write_report(args.report, report.to_dict())
    print(report.summary())
    if report.difficult_left_out:
        print(
            f"left {report.difficult_left_out} difficult box(es) out of the {args.dst_format} labels "
            "(--keep-difficult writes them as ordinary boxes)"
        )
    return 0


def _write_report(path: Path, report: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))


def _print_warnings(warnings: Sequence[ValidationWarning]) -> None:
    """One stderr line per warning, up to a limit: a systematic problem would otherwise flood the terminal."""
    for item in warnings[:_PRINTED_WARNINGS]:
        print(f"{PROG}: warning: {item}", file=sys.stderr)
    if len(warnings) > _PRINTED_WARNINGS:
        more = len(warnings) - _PRINTED_WARNINGS
        print(f"{PROG}: warning: {more} more warning(s); --report FILE lists all of them", file=sys.stderr)


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
    _print_warnings(validation.warnings)
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
    _print_warnings(validation.warnings)
    if args.json:
        skipped = [item.to_dict() for item in validation.skipped]
        warnings = [item.to_dict() for item in validation.warnings]
        print(json.dumps({**stats.to_dict(), "skipped": skipped, "warnings": warnings}, indent=1))
        return 0
    print(stats.table())
    if validation.skipped:
        print(f"skipped {len(validation.skipped)} invalid item(s); run validate to list them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
