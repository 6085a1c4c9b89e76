"""labeled_dataset: base + reviewed labels, hash split, DVC versions with lineage and counts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from maskops_assets.datasets.yolo import read_yolo
from maskops_assets.defs.dataset import labeled_dataset
from maskops_assets.defs.labels import reviewed_labels
from maskops_assets.ingest import make_batch, write_batch
from maskops_assets.ingest.seeding import seed_samples_from_video, write_review_export
from maskops_assets.lineage import LabeledDatasetVersion
from maskops_assets.store import LocalObjectStore


def _run(instance, resources: dict, labels_config: dict) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [reviewed_labels, labeled_dataset],
        instance=instance,
        resources=resources,
        run_config={
            "ops": {
                "reviewed_labels": {"config": labels_config},
                "labeled_dataset": {"config": {"base_images": 24, "base_image_size": 96}},
            }
        },
    )


def test_versions_grow_with_reviewed_labels(
    tmp_path: Path, dagster_instance: dg.DagsterInstance, data_resources
) -> None:
    home = tmp_path / "home"
    resources = data_resources(home)
    first = _run(dagster_instance, resources, {})
    v1: LabeledDatasetVersion = first.output_for_node("labeled_dataset")
    assert v1.version == "dataset-v1" and v1.new_labels == 0
    base_images = sum(1 for _ in Path(v1.data_yaml).parent.glob("images/*/*.jpg"))
    assert base_images == 24
    # the same inputs again give the same version: versions are content, not runs
    again: LabeledDatasetVersion = _run(dagster_instance, resources, {}).output_for_node("labeled_dataset")
    assert again.version == "dataset-v1"

    store = LocalObjectStore(home / "store")
    samples = seed_samples_from_video(store, tmp_path / "camera", n_frames=12, every=2, size=(96, 96))
    batch = make_batch([k for k in store.list_keys("samples/") if k.endswith(".json")])
    write_batch(store, batch)
    export = write_review_export(samples, tmp_path / "export")
    second = _run(dagster_instance, resources, {"import_dir": str(export), "format": "yolo"})
    v2: LabeledDatasetVersion = second.output_for_node("labeled_dataset")
    assert v2.version == "dataset-v2"
    assert v2.new_labels == len(samples)
    assert v2.sample_batches == [batch.batch_id]
    assert v2.total_boxes == v1.total_boxes + sum(len(s.boxes) for s in samples)

    # the data.yaml is usable where it was checked out (no absolute path back into the repo)
    config = yaml.safe_load(Path(v2.data_yaml).read_text())
    assert "path" not in config
    read_back = read_yolo(Path(v2.data_yaml))
    assert len(read_back.images) == base_images + len(samples)
    # the old version is intact, and hash splits did not move a single base image
    old = read_yolo(Path(v1.data_yaml))
    new_split = {p.image.name: p.split for p in read_back.images}
    assert all(new_split[p.image.name] == p.split for p in old.images)

    metadata = second.asset_materializations_for_node("labeled_dataset")[0].metadata
    assert metadata["dvc_version"].value == "dataset-v2"
    assert metadata["new_labels"].value == len(samples)
    assert {r.data["split"] for r in metadata["counts"].value.records} >= {"train", "val", "test"}
    checks = second.get_asset_check_evaluations()
    assert [c.check_name for c in checks] == ["trainable"]
