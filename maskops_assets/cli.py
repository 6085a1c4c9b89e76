"""``maskops``: the platform's command line.

``maskops labels export --format yolo|coco|voc|labelstudio OUT`` writes every reviewed sample (its
newest labels) from the object store in that format, so a team on CVAT or Roboflow can take it;
``maskops labels import SRC --format ...`` stores their export as a label batch, checked exactly as
``reviewed_labels`` checks one. ``maskops labelstudio setup`` creates (or updates) the Label Studio
project and says how it connected. The object store and Label Studio come from the same environment
variables as the Dagster resources (``MASKOPS_STORE_*``, ``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from maskops_assets.datasets.annotations import DatasetFormatError
from maskops_assets.datasets.formats import FORMATS, get_format
from maskops_assets.datasets.validation import ValidationLog

PROG = "maskops"
EXIT_BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    from maskops_assets.labels import LabelBatchRejected
    from maskops_assets.labelstudio import LabelStudioError

    try:
        return args.run(args)
    except (LabelBatchRejected, LabelStudioError, DatasetFormatError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"{PROG}: error: {exc.filename or 'a file'}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="maskops platform commands.")
    parser.add_argument("-q", "--quiet", action="store_true", help="print no progress")
    commands = parser.add_subparsers(dest="command", required=True)

    labels = commands.add_parser("labels", help="reviewed labels in and out as files").add_subparsers(
        dest="labels_command", required=True
    )
    export = labels.add_parser("export", help="write every reviewed sample (newest labels) into OUT")
    export.add_argument("out", type=Path, metavar="OUT", help="a new or empty folder")
    export.add_argument("--format", required=True, choices=sorted(FORMATS))
    export.add_argument(
        "--keep-difficult", action="store_true", help="yolo: write boxes flagged difficult as ordinary boxes"
    )
    export.set_defaults(run=_export)

    imp = labels.add_parser("import", help="store an annotation export (a folder or file) as a label batch")
    imp.add_argument("src", type=Path, metavar="SRC")
    imp.add_argument("--format", required=True, choices=sorted(FORMATS))
    imp.add_argument(
        "--skip-invalid", action="store_true", help="keep the valid images of a batch with problems"
    )
    imp.set_defaults(run=_import)

    studio = commands.add_parser("labelstudio", help="the Label Studio review project").add_subparsers(
        dest="labelstudio_command", required=True
    )
    setup = studio.add_parser("setup", help="create or update the maskops project; print where it is")
    setup.set_defaults(run=_setup)
    return parser


def _store():
    from maskops_assets.resources import ObjectStoreResource

    return ObjectStoreResource().open()


def _export(args: argparse.Namespace) -> int:
    from maskops_assets.labels import download_reviewed, list_label_batches

    out = args.out
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty; export into a new or empty folder")
    store = _store()
    batches = list_label_batches(store)
    if not batches:
        raise ValueError(f"no reviewed labels in {store.describe()} yet; import or pull some first")
    with tempfile.TemporaryDirectory(prefix="maskops-export-") as tmp:
        reviewed = download_reviewed(store, batches, Path(tmp))
        validation = ValidationLog()
        main_file = get_format(args.format).write(
            reviewed, out, keep_difficult=args.keep_difficult, validation=validation
        )
    for warning in validation.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    boxes = sum(len(image.boxes) for image in reviewed.images)
    print(
        f"exported {len(reviewed.images)} images, {boxes} boxes from {len(batches)} label batch(es) "
        f"to {main_file}"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    from maskops_assets.ingest import sample_batch_index
    from maskops_assets.labels import import_label_batch

    store = _store()
    batch = import_label_batch(
        store, args.src, args.format, skip_invalid=args.skip_invalid, sample_index=sample_batch_index(store)
    )
    print(
        f"label batch {batch.label_batch_id}: {len(batch.images)} images, "
        f"{sum(batch.boxes_by_class.values())} boxes, in {store.describe()}"
    )
    for item in batch.skipped:
        print(f"  skipped {item}")
    return 0


def _setup(args: argparse.Namespace) -> int:
    from maskops_assets.labelstudio import ensure_project
    from maskops_assets.resources import LabelStudioResource

    resource = LabelStudioResource()
    store = _store()
    with resource.client() as client:
        user = client.whoami()
        project = ensure_project(
            client, resource.title(), local_files_path=resource.linker(store).local_storage_path()
        )
    print(f"Label Studio {client.url}: signed in as {user.get('email')} with a {client.token_kind}")
    print(
        f"project {project.title!r} (id {project.project_id}{', created' if project.created else ''}): "
        f"{project.url}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
