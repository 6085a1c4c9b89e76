"""Reviewed labels: import annotation files (YOLO, VOC, COCO, Label Studio) as checked label batches."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
from typing import Literal

import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.ingest import sample_batch_index
from maskops_assets.labels import LabelBatchRejected, import_label_batch, summarise
from maskops_assets.lineage import ReviewedLabels
from maskops_assets.resources import ObjectStoreResource


class ReviewedLabelsConfig(dg.Config):
    """Which annotation export to import; with no ``import_dir`` the stored batches are only re-read."""

    import_dir: str = Field(
        default="",
        description="Folder (or file) of reviewed annotations, e.g. a Label Studio or CVAT export.",
    )
    format: Literal["yolo", "voc", "coco", "labelstudio"] = Field(
        default="yolo", description="Format of the files in import_dir."
    )
    skip_invalid: bool = Field(
        default=False,
        description="Import the valid images of a batch with problems instead of rejecting all of it.",
    )


@dg.asset(
    group_name="data",
    kinds={"python", "s3"},
    owners=[OWNER],
    deps=["collected_frames"],
    description=(
        "Every accepted batch of reviewed labels. A run with import_dir imports one more batch; a batch "
        "with any invalid file is rejected as a whole (naming each file) unless skip_invalid is set, "
        "so nothing downstream changes."
    ),
)
def reviewed_labels(
    context: dg.AssetExecutionContext, config: ReviewedLabelsConfig, object_store: ObjectStoreResource
) -> dg.Output[ReviewedLabels]:
    store = object_store.open()
    new_batch = None
    if config.import_dir:
        context.log.info(f"importing {config.format} annotations from {config.import_dir}")
        try:
            batch = import_label_batch(
                store,
                config.import_dir,
                config.format,
                skip_invalid=config.skip_invalid,
                sample_index=sample_batch_index(store),
            )
        except LabelBatchRejected as err:
            context.log.error(str(err))
            raise dg.Failure(
                description=str(err),
                metadata={
                    "import_dir": config.import_dir,
                    "rejected_files": dg.MetadataValue.json(err.files),
                    "problems": len(err.problems),
                },
            ) from None
        new_batch = batch.label_batch_id
        if batch.skipped:
            context.log.warning(f"skipped {len(batch.skipped)} invalid item(s), e.g. {batch.skipped[0]}")
        context.log.info(
            f"label batch {new_batch}: {len(batch.images)} images, linked to ingest batches "
            f"{list(batch.sample_batches) or 'none'}"
        )
    else:
        context.log.info("no import_dir in the run config: summarising the label batches already stored")
    summary = summarise(store, new_batch)
    return dg.Output(
        summary,
        metadata={
            "label_batches": len(summary.label_batches),
            "new_label_batch": new_batch or "none",
            "images": summary.images,
            "boxes_by_class": dg.MetadataValue.json(summary.boxes_by_class),
            "sample_batches": dg.MetadataValue.json(list(summary.sample_batches)),
        },
    )
