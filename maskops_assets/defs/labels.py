"""Reviewed labels: import annotation files (YOLO, VOC, COCO, Label Studio) as checked label batches,
and pull the reviews completed in Label Studio (when it is configured) the same way."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
from typing import Literal

import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.ingest import sample_batch_index
from maskops_assets.labels import LabelBatchRejected, import_label_batch, list_label_batches, summarise
from maskops_assets.labels.reviewed import latest_labels
from maskops_assets.labelstudio import (
    LabelStudioError,
    PullReport,
    by_model_version,
    plot_corrections,
    pull_reviewed,
)
from maskops_assets.labelstudio.corrections import markdown_table, totals
from maskops_assets.lineage import ReviewedLabels
from maskops_assets.resources import LabelStudioResource, ObjectStoreResource, WorkDirResource

#: Where the corrections picture is kept in the object store (beside the pull state).
CORRECTIONS_PLOT_KEY = "labels/labelstudio/corrections.png"


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
    deps=["collected_frames", "labeling_tasks"],
    description=(
        "Every accepted batch of reviewed labels. A run with import_dir imports one more batch; a batch "
        "with any invalid file is rejected as a whole (naming each file) unless skip_invalid is set, "
        "so nothing downstream changes. With Label Studio configured (LABEL_STUDIO_URL), the reviews "
        "completed since the last run are pulled as one more batch (skipped tasks honoured), and the "
        "metadata says how much reviewers corrected the model's boxes, per class and model version."
    ),
)
def reviewed_labels(
    context: dg.AssetExecutionContext,
    config: ReviewedLabelsConfig,
    object_store: ObjectStoreResource,
    label_studio: LabelStudioResource,
    work_dir: WorkDirResource,
) -> dg.Output[ReviewedLabels]:
    store = object_store.open()
    new_batch = None
    pulled: dict = {}
    if label_studio.enabled():
        pulled = _pull_from_label_studio(context, store, label_studio)
        new_batch = pulled.pop("_batch", None)
    else:
        pulled = {"label_studio": "off: LABEL_STUDIO_URL is not set"}
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
    pulled.update(_corrections_metadata(context, store, work_dir))
    return dg.Output(
        summary,
        metadata={
            "label_batches": len(summary.label_batches),
            "new_label_batch": new_batch or "none",
            "images": summary.images,
            "boxes_by_class": dg.MetadataValue.json(summary.boxes_by_class),
            "sample_batches": dg.MetadataValue.json(list(summary.sample_batches)),
            **pulled,
        },
    )


def _pull_from_label_studio(
    context: dg.AssetExecutionContext, store, label_studio: LabelStudioResource
) -> dict:
    """Pull the reviews completed since the last run; a failure names the server and changes nothing."""
    try:
        with label_studio.client() as client:
            project = client.find_project(label_studio.title())
            if project is None:
                missing = (
                    f"no project {label_studio.title()!r} at {client.url} (deleted, or not created yet): "
                    "nothing pulled; materialize labeling_tasks to create it and queue the samples"
                )
                context.log.warning(missing)
                return {"label_studio": missing}
            project_url = f"{client.url}/projects/{project['id']}/data"
            context.log.info(f"pulling completed reviews from Label Studio project {project_url}")
            report: PullReport = pull_reviewed(
                client, int(project["id"]), store, sample_index=sample_batch_index(store)
            )
    except LabelStudioError as err:
        context.log.error(str(err))
        raise dg.Failure(
            description=f"{err} (the label batches already stored are unchanged)",
            metadata={"label_studio": err.url, "label_batches_kept": len(list_label_batches(store))},
        ) from None
    if report.invalid:
        context.log.warning(f"{len(report.invalid)} review(s) could not be used, e.g. {report.invalid[0]}")
    batch_id = report.batch.label_batch_id if report.batch else None
    context.log.info(
        f"Label Studio: {report.reviewed} new review(s), {len(report.skipped)} skipped task(s) "
        f"(of {report.tasks_seen}); label batch {batch_id or 'none'}"
    )
    return {
        "_batch": batch_id,
        "label_studio": dg.MetadataValue.url(project_url),
        "pulled_reviews": report.reviewed,
        "pulled_skipped_tasks": len(report.skipped),
        "pulled_invalid_reviews": len(report.invalid),
        "pull_cursor": report.cursor or "none",
        "pulled_corrections": dg.MetadataValue.md(markdown_table(report.corrections)),
    }


def _corrections_metadata(context: dg.AssetExecutionContext, store, work_dir: WorkDirResource) -> dict:
    """Correction counts per model version over every sample's newest review, as a table and a picture."""
    records = [record for _, record in latest_labels(store, list_label_batches(store)).values()]
    per_version = by_model_version(records)
    if not per_version:
        return {}
    path = plot_corrections(per_version, work_dir.path("labels", "corrections.png"))
    store.put_bytes(CORRECTIONS_PLOT_KEY, path.read_bytes(), content_type="image/png")
    context.log.info(f"corrections per model version plotted to {path}")
    return {
        "corrections_by_model_version": dg.MetadataValue.json(
            {version: {"per_class": counts, "all": totals(counts)} for version, counts in per_version.items()}
        ),
        "corrections_plot": dg.MetadataValue.path(str(path)),
        "corrections_plot_key": f"{store.describe()}/{CORRECTIONS_PLOT_KEY}",
    }
