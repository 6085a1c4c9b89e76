"""The labeled dataset: base data + every reviewed label, split by hash, YOLO layout, versioned in DVC."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
from pathlib import Path

import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.datasets.yolo import read_yolo
from maskops_assets.labels import download_reviewed, read_label_batch
from maskops_assets.lineage import LabeledDatasetVersion, ReviewedLabels
from maskops_assets.resources import DatasetRepoResource, ObjectStoreResource, WorkDirResource
from maskops_assets.versioning.build import DATASET_DIR, build_dataset, read_lineage
from maskops_contracts import CLASS_NAMES


class LabeledDatasetConfig(dg.Config):
    """Where the base data comes from and how to split; defaults build the generated demo base."""

    base_data_yaml: str = Field(
        default="", description="data.yaml of a YOLO base dataset; empty: a generated synthetic base."
    )
    base_images: int = Field(default=120, ge=10, description="Images in the generated base.")
    base_image_size: int = Field(default=160, ge=32, description="Side of a generated base image, px.")
    base_seed: int = Field(default=0, description="Seed of the generated base.")
    split_ratios: list[float] = Field(default=[0.8, 0.1, 0.1], description="train/val/test shares.")
    push: bool = Field(default=True, description="Push the new version to the DVC remote.")


@dg.asset(
    group_name="data",
    kinds={"python", "dvc"},
    owners=[OWNER],
    pool="dataset_repo",  # one writer at a time: versions are commits in one git repository
    description=(
        "The training dataset: the base dataset plus every reviewed label, split train/val/test by a hash "
        "of each image (stable as images are added), in YOLO layout, committed and tagged with DVC. "
        "Its value points at a checked-out copy of exactly that version."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "trainable",
            asset="labeled_dataset",
            blocking=True,
            description="train and val have images, and train has boxes of every class.",
        )
    ],
)
def labeled_dataset(
    context: dg.AssetExecutionContext,
    config: LabeledDatasetConfig,
    reviewed_labels: ReviewedLabels,
    object_store: ObjectStoreResource,
    dataset_repo: DatasetRepoResource,
    work_dir: WorkDirResource,
):
    if len(config.split_ratios) != 3 or abs(sum(config.split_ratios) - 1.0) > 1e-6:
        raise dg.Failure(f"split_ratios must be three shares that sum to 1, got {config.split_ratios}")
    store = object_store.open()
    repo = dataset_repo.open()
    repo.ensure_initialised()

    base_yaml = (
        Path(config.base_data_yaml) if config.base_data_yaml else _generated_base(context, config, work_dir)
    )
    context.log.info(f"base dataset: {base_yaml}")
    base = read_yolo(base_yaml)
    context.log.info(f"downloading {reviewed_labels.images} reviewed images from {store.describe()}")
    reviewed = download_reviewed(store, reviewed_labels.label_batches, work_dir.dir("reviewed"))

    previous = repo.latest()
    seen_batches: set[str] = set()
    if previous is not None:
        seen_batches = set(read_lineage(repo.checkout(previous.tag) / DATASET_DIR).get("label_batches", []))
    new_labels = sum(
        len(read_label_batch(store, b).images) for b in reviewed_labels.label_batches if b not in seen_batches
    )

    built = build_dataset(
        base,
        reviewed,
        repo.root / DATASET_DIR,
        ratios=tuple(config.split_ratios),  # type: ignore[arg-type]
        lineage={
            "base": str(base_yaml),
            "label_batches": list(reviewed_labels.label_batches),
            "sample_batches": list(reviewed_labels.sample_batches),
            # no run id here: this file is part of the versioned content, and the same inputs
            # must give the same version (the run is named in the commit message instead)
        },
    )
    context.log.info(f"built {sum(built.images.values())} images {built.images}; committing to DVC")
    version = repo.commit(
        DATASET_DIR,
        f"labeled dataset: {len(base.images)} base + {len(reviewed.images)} reviewed images "
        f"({len(reviewed_labels.label_batches)} label batches), Dagster run {context.run.run_id}",
    )
    if config.push:
        repo.push()
        context.log.info(f"pushed {version.tag} to the DVC remote {repo.remote}")
    checkout = repo.checkout(version.tag)
    data_yaml = checkout / DATASET_DIR / "data.yaml"
    result = LabeledDatasetVersion(
        version=version.tag,
        git_rev=version.git_rev,
        dvc_md5=version.dvc_md5,
        data_yaml=str(data_yaml),
        counts=built.counts,
        new_labels=new_labels,
        sample_batches=list(reviewed_labels.sample_batches),
    )
    yield dg.Output(
        result,
        metadata={
            "dvc_version": version.tag,
            "git_rev": version.git_rev,
            "dvc_md5": version.dvc_md5,
            "dvc_remote": repo.remote,
            "data_yaml": dg.MetadataValue.path(str(data_yaml)),
            "counts": _counts_table(built.counts, built.images),
            "images": sum(built.images.values()),
            "new_labels": new_labels,
            "previous_version": previous.tag if previous else "none",
            "label_batches": dg.MetadataValue.json(list(reviewed_labels.label_batches)),
            "sample_batches": dg.MetadataValue.json(list(reviewed_labels.sample_batches)),
        },
    )
    problems = _trainability_problems(built.counts, built.images)
    yield dg.AssetCheckResult(
        check_name="trainable",
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems), "images": dg.MetadataValue.json(built.images)},
    )


def _generated_base(
    context: dg.AssetExecutionContext, config: LabeledDatasetConfig, work_dir: WorkDirResource
) -> Path:
    from maskops_assets.synthetic.dataset import generate_dataset

    name = f"synthetic-default-seed{config.base_seed}-n{config.base_images}-px{config.base_image_size}"
    out = work_dir.base() / "base" / name
    if (out / "data.yaml").is_file():
        return out / "data.yaml"
    context.log.info(
        f"no base_data_yaml configured: generating {config.base_images} synthetic images in {out}"
    )
    return generate_dataset(
        out, config.base_images, seed=config.base_seed, image_size=config.base_image_size, overwrite=True
    )


def _counts_table(counts: dict[str, dict[str, int]], images: dict[str, int]) -> dg.MetadataValue:
    columns = [dg.TableColumn("split", "string"), dg.TableColumn("images", "int")]
    columns += [dg.TableColumn(name, "int") for name in CLASS_NAMES]
    records = [
        dg.TableRecord({"split": split, "images": images.get(split, 0), **per_class})
        for split, per_class in counts.items()
    ]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))


def _trainability_problems(counts: dict[str, dict[str, int]], images: dict[str, int]) -> list[str]:
    problems = [f"split {split!r} has no images" for split in ("train", "val") if not images.get(split)]
    problems += [
        f"train has no {name!r} boxes" for name in CLASS_NAMES if not counts.get("train", {}).get(name)
    ]
    return problems
