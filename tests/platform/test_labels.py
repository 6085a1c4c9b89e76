"""Reviewed labels: imports link back to ingest batches; a bad batch is rejected whole, naming files."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.defs.labels import reviewed_labels
from maskops_assets.ingest import make_batch, sample_batch_index, write_batch
from maskops_assets.ingest.seeding import write_review_export
from maskops_assets.labels import LabelBatchRejected, import_label_batch, list_label_batches, summarise
from maskops_assets.resources import LabelStudioResource, ObjectStoreResource, WorkDirResource
from maskops_contracts import CLASS_NAMES


def _batched(store, samples) -> str:
    keys = [k for k in store.list_keys("samples/") if k.endswith(".json")]
    batch = make_batch(keys)
    write_batch(store, batch)
    assert len(keys) == len(samples)
    return batch.batch_id


def _break_two_files(export: Path) -> list[Path]:
    labels = sorted((export / "labels" / "train").glob("*.txt"))
    labels[0].write_text("7 0.5 0.5 0.2 0.2\n")  # unknown class id
    labels[1].write_text("0 0.5 0.5\n")  # wrong number of fields
    return labels[:2]


def test_import_links_labels_to_ingest_batches(seeded_store, tmp_path: Path) -> None:
    store, samples = seeded_store
    batch_id = _batched(store, samples)
    export = write_review_export(samples, tmp_path / "export")
    batch = import_label_batch(store, export, "yolo", sample_index=sample_batch_index(store))
    assert len(batch.images) == len(samples)
    assert batch.sample_batches == (batch_id,)
    assert sum(batch.boxes_by_class.values()) == sum(len(s.boxes) for s in samples)

    again = import_label_batch(store, export, "yolo", sample_index=sample_batch_index(store))
    assert again.label_batch_id == batch.label_batch_id  # same content: no duplicate batch
    assert list_label_batches(store) == [batch.label_batch_id]
    assert summarise(store, None).images == len(samples)


def test_bad_batch_is_rejected_naming_every_file(seeded_store, tmp_path: Path) -> None:
    store, samples = seeded_store
    export = write_review_export(samples, tmp_path / "export")
    broken = _break_two_files(export)
    with pytest.raises(LabelBatchRejected) as caught:
        import_label_batch(store, export, "yolo")
    message = str(caught.value)
    for path in broken:
        assert path.name in message
    assert "skip_invalid" in message
    assert list_label_batches(store) == []  # nothing stored

    kept = import_label_batch(store, export, "yolo", skip_invalid=True)
    assert len(kept.images) == len(samples) - 2
    assert len(kept.skipped) == 2


def _file_only_resources(store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The store, a work dir, and Label Studio off (no URL, whatever this machine's environment says)."""
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    return {
        "object_store": ObjectStoreResource(root=str(store.root)),
        "label_studio": LabelStudioResource(),
        "work_dir": WorkDirResource(root=str(tmp_path / "work")),
    }


def test_reviewed_labels_asset_fails_with_the_files_and_changes_nothing(
    seeded_store, tmp_path: Path, dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, samples = seeded_store
    export = write_review_export(samples, tmp_path / "export")
    resources = _file_only_resources(store, tmp_path, monkeypatch)
    good = dg.materialize(
        [reviewed_labels],
        instance=dagster_instance,
        resources=resources,
        run_config={"ops": {"reviewed_labels": {"config": {"import_dir": str(export), "format": "yolo"}}}},
    )
    assert good.output_for_node("reviewed_labels").images == len(samples)
    metadata = good.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["label_studio"].value.startswith("off")  # no URL: Label Studio is off, and says so

    bad_export = write_review_export(samples[:4], tmp_path / "bad_export")
    broken = _break_two_files(bad_export)
    bad = dg.materialize(
        [reviewed_labels],
        instance=dagster_instance,
        resources=resources,
        run_config={
            "ops": {"reviewed_labels": {"config": {"import_dir": str(bad_export), "format": "yolo"}}}
        },
        raise_on_error=False,
    )
    assert not bad.success
    error = bad.get_step_failure_events()[0].event_specific_data.error
    text = error.message + "".join(str(c.message) for c in [error.cause] if c)
    assert all(path.name in text for path in broken)
    assert len(list_label_batches(store)) == 1


def test_unknown_format_and_missing_dir_are_named(seeded_store, tmp_path: Path) -> None:
    store, _ = seeded_store
    with pytest.raises(LabelBatchRejected, match="does not exist"):
        import_label_batch(store, tmp_path / "nowhere", "coco")
    with pytest.raises(LabelBatchRejected, match="unknown format 'csv'"):
        import_label_batch(store, tmp_path, "csv")


@pytest.mark.parametrize("fmt", ["coco", "labelstudio", "voc"])
def test_other_formats_import_the_same_boxes(seeded_store, tmp_path: Path, fmt: str) -> None:
    from maskops_assets.datasets.formats import FORMATS

    store, samples = seeded_store
    yolo = write_review_export(samples, tmp_path / "export")
    converted = tmp_path / fmt
    FORMATS[fmt].write(FORMATS["yolo"].read(yolo), converted)
    batch = import_label_batch(store, converted, fmt)
    assert len(batch.images) == len(samples)
    assert sum(batch.boxes_by_class.values()) == sum(len(s.boxes) for s in samples)


def test_a_corrected_label_replaces_the_old_one(seeded_store, tmp_path: Path) -> None:
    """A reviewer fixes one box and the export is imported again: the dataset gets each sample
    once, with the corrected label, not the mistake beside its fix."""
    from datetime import UTC, datetime

    from maskops_assets.labels import download_reviewed

    store, samples = seeded_store
    _batched(store, samples)
    export = write_review_export(samples, tmp_path / "export")
    index = sample_batch_index(store)
    first = import_label_batch(
        store, export, "yolo", sample_index=index, now=datetime(2026, 11, 23, 9, tzinfo=UTC)
    )
    label = sorted((export / "labels" / "train").glob("*.txt"))[0]
    lines = label.read_text().splitlines()
    old_class, *geometry = lines[0].split()
    new_class = (int(old_class) + 1) % len(CLASS_NAMES)
    label.write_text("\n".join([" ".join([str(new_class), *geometry]), *lines[1:]]) + "\n")
    second = import_label_batch(
        store, export, "yolo", sample_index=index, now=datetime(2026, 11, 23, 10, tzinfo=UTC)
    )
    assert list_label_batches(store) == [first.label_batch_id, second.label_batch_id]

    summary = summarise(store, second.label_batch_id)
    assert summary.images == len(samples)
    expected = dict(first.boxes_by_class)
    expected[CLASS_NAMES[int(old_class)]] -= 1
    expected[CLASS_NAMES[new_class]] += 1
    assert summary.boxes_by_class == expected
    images = download_reviewed(store, [first.label_batch_id, second.label_batch_id], tmp_path / "dl")
    assert len(images.images) == len(samples)
    corrected = [i for i in images.images if i.image.stem == label.stem]
    assert len(corrected) == 1 and corrected[0].image.parent.name == second.label_batch_id
    assert CLASS_NAMES[new_class] in {b.class_name for b in corrected[0].boxes}
