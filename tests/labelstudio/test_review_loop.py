"""Review in a real Label Studio, end to end: samples in as tasks with the model's boxes, a reviewer's
work (accept, move, re-class, add, skip) pulled back as labels with the correction counts; images
that display for a local store and for S3; failures that name the server and keep the labels."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import dagster as dg
import httpx
import pytest
from testkit import free_port

from maskops_assets.defs.labeling import labeling_tasks
from maskops_assets.defs.labels import reviewed_labels
from maskops_assets.ingest import make_batch, write_batch
from maskops_assets.ingest.seeding import seed_samples_from_video, write_review_export
from maskops_assets.labels import import_label_batch, latest_labels, list_label_batches, read_label_batch
from maskops_assets.labelstudio import (
    LEGACY_TOKEN,
    PERSONAL_ACCESS_TOKEN,
    LabelStudioAuthError,
    LabelStudioClient,
    LabelStudioProjectMissing,
    LabelStudioUnreachable,
    pull_reviewed,
    queue_new_batches,
)
from maskops_assets.resources import LabelStudioResource, ObjectStoreResource, WorkDirResource
from maskops_assets.store import LocalObjectStore, S3ObjectStore
from maskops_contracts import SampleRecord, SamplingReason
from maskops_contracts.classes import CLASS_NAMES

pytestmark = pytest.mark.slow

#: distinct sampling scores, in an order unlike capture order, so the queue order is visible
SCORES = (0.31, 0.92, 0.55, 0.12, 0.77, 0.48, 0.66, 0.25)


@pytest.fixture
def instance(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def _seed(store, work: Path) -> list:
    """8 samples from a synthetic clip, re-scored so the sampling scores differ, in one ingest batch."""
    samples = seed_samples_from_video(store, work, n_frames=16, every=2, size=(128, 96))
    for sample, score in zip(samples, SCORES, strict=True):
        record = dataclasses.replace(sample.record, reason=SamplingReason("uncertainty_band", score))
        key = f"samples/{record.camera_id}/{record.date}/{record.sample_id}.json"
        store.put_bytes(key, record.to_json().encode(), "application/json")
    keys = [k for k in store.list_keys("samples/") if k.endswith(".json")]
    write_batch(store, make_batch(keys))
    return samples


def _resources(store: LocalObjectStore, server, token: str, title: str, tmp_path: Path) -> dict:
    return {
        "object_store": ObjectStoreResource(kind="local", root=str(store.root)),
        "label_studio": LabelStudioResource(
            url=server.url, api_key=token, project_title=title, document_root=str(server.document_root)
        ),
        "work_dir": WorkDirResource(root=str(tmp_path / "work")),
    }


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    return {
        k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()
    }


# --- what a reviewer does to a task's pre-annotation --------------------------------------------


def _accept(regions: list[dict]) -> list[dict]:
    return [dict(r) for r in regions]


def _move_first(regions: list[dict]) -> list[dict]:
    out = _accept(regions)
    value = dict(out[0]["value"])
    shift = 0.2 * value["width"]
    value["x"] = value["x"] + shift if value["x"] + value["width"] + shift <= 100 else value["x"] - shift
    out[0] = {**out[0], "value": value}
    return out


def _reclass_first(regions: list[dict]) -> tuple[list[dict], str, str]:
    out = _accept(regions)
    old = out[0]["value"]["rectanglelabels"][0]
    new = CLASS_NAMES[(CLASS_NAMES.index(old) + 1) % len(CLASS_NAMES)]
    out[0] = {**out[0], "value": {**out[0]["value"], "rectanglelabels": [new]}}
    return out, old, new


def _add_box(regions: list[dict], template: dict) -> list[dict]:
    added = {
        **template,
        "id": "reviewer_added",
        "value": {
            "x": 1,
            "y": 1,
            "width": 8,
            "height": 10,
            "rotation": 0,
            "rectanglelabels": ["without_mask"],
        },
    }
    added.pop("score", None)
    return [*_accept(regions), added]


def test_review_round_trip_through_label_studio(
    label_studio_server, personal_token: str, tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    server = label_studio_server
    store = LocalObjectStore(server.document_root / f"local-{uuid.uuid4().hex[:8]}" / "store")
    samples = _seed(store, tmp_path / "camera")
    title = f"maskops review {uuid.uuid4().hex[:6]}"
    resources = _resources(store, server, personal_token, title, tmp_path)

    # push: one task per sample, most informative first, the model's boxes as predictions
    first = dg.materialize([labeling_tasks], instance=instance, resources=resources)
    meta = _metadata(first)
    assert (meta["new_tasks"], meta["already_tasks"], meta["project_tasks"]) == (8, 0, 8)
    again = _metadata(dg.materialize([labeling_tasks], instance=instance, resources=resources))
    assert (again["new_tasks"], again["project_tasks"]) == (0, 8)  # idempotent: no sample twice

    client = LabelStudioClient(server.url, personal_token)
    assert client.token_kind == PERSONAL_ACCESS_TOKEN
    project_id = meta["project_id"]
    tasks = sorted(client.iter_tasks(project_id), key=lambda t: t["id"])
    assert len({t["data"]["sample_id"] for t in tasks}) == 8
    assert [t["data"]["sampling_score"] for t in tasks] == sorted(SCORES, reverse=True)
    by_sample = {s.record.sample_id: s for s in samples}
    for task in tasks:
        record: SampleRecord = by_sample[task["data"]["sample_id"]].record
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == record.model_version == "seed-model"
        assert len(prediction["result"]) == len(record.detections)
        assert all(region["score"] == pytest.approx(0.45) for region in prediction["result"])
    # the task's image URL answers with the frame's bytes (Label Studio's local file serving)
    frame = httpx.get(server.url + tasks[0]["data"]["image"], headers=client.auth_headers(), timeout=30)
    assert frame.status_code == 200
    assert frame.content == store.get_bytes(tasks[0]["data"]["image_key"])

    # a reviewer: accept, move a box, re-class a box, add a box, skip a task
    with_boxes = [t for t in tasks if t["predictions"][0]["result"]]
    assert len(with_boxes) >= 4, "the seeded clip should have at least 4 frames with faces"
    accept, move, reclass, add = with_boxes[:4]
    skip = next(t for t in tasks if t not in (accept, move, reclass, add))
    regions = {t["id"]: t["predictions"][0]["result"] for t in tasks}
    accepted = client.create_annotation(accept["id"], _accept(regions[accept["id"]]), lead_time=4.0)
    client.create_annotation(move["id"], _move_first(regions[move["id"]]))
    reclassed, old_class, new_class = _reclass_first(regions[reclass["id"]])
    client.create_annotation(reclass["id"], reclassed)
    client.create_annotation(add["id"], _add_box(regions[add["id"]], regions[add["id"]][0]))
    client.create_annotation(skip["id"], [], was_cancelled=True)

    pulled = dg.materialize([reviewed_labels], instance=instance, resources=resources)
    summary = pulled.output_for_node("reviewed_labels")
    meta = _metadata(pulled)
    assert summary.images == 4  # the skipped task gives no label
    assert (meta["pulled_reviews"], meta["pulled_skipped_tasks"]) == (4, 1)
    n = {t["id"]: len(regions[t["id"]]) for t in (accept, move, reclass, add)}
    expected_all = {
        "unchanged": n[accept["id"]] + n[move["id"]] - 1 + n[reclass["id"]] - 1 + n[add["id"]],
        "moved": 1,
        "reclassed": 1,
        "deleted": 0,
        "added": 1,
    }
    assert meta["corrections_by_model_version"]["seed-model"]["all"] == expected_all
    per_class = meta["corrections_by_model_version"]["seed-model"]["per_class"]
    assert per_class[old_class]["reclassed"] == 1
    assert per_class["without_mask"]["added"] >= 1
    plot = Path(meta["corrections_plot"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    (batch_id,) = list_label_batches(store)
    batch = read_label_batch(store, batch_id)
    assert [s["sample_id"] for s in batch.review_skipped] == [skip["data"]["sample_id"]]
    records = {r["sample_id"]: r for r in batch.images}
    assert skip["data"]["sample_id"] not in records
    moved_record = records[move["data"]["sample_id"]]
    original = by_sample[move["data"]["sample_id"]].record.detections[0].box
    assert moved_record["boxes"][0][0] != pytest.approx(original[0], abs=0.5)  # the box moved
    assert records[reclass["data"]["sample_id"]]["boxes"][0][4] == new_class
    assert len(records[add["data"]["sample_id"]]["boxes"]) == n[add["id"]] + 1
    accept_record = records[accept["data"]["sample_id"]]
    assert accept_record["annotator"] == "reviewer@maskops.test"
    assert accept_record["lead_time_s"] == 4.0 and accept_record["annotated_at"].endswith("Z")
    assert accept_record["model_version"] == "seed-model"
    assert accept_record["ingest_batch"] is not None  # lineage back to the ingest batch

    # pulling again changes nothing
    unchanged = _metadata(dg.materialize([reviewed_labels], instance=instance, resources=resources))
    assert unchanged["pulled_reviews"] == 0
    assert list_label_batches(store) == [batch_id]

    # a corrected annotation replaces the earlier one
    client.update_annotation(accepted["id"], _accept(regions[accept["id"]])[1:])
    corrected = dg.materialize([reviewed_labels], instance=instance, resources=resources)
    meta = _metadata(corrected)
    assert meta["pulled_reviews"] == 1
    assert len(list_label_batches(store)) == 2
    newest = latest_labels(store, list_label_batches(store))[accept["data"]["sample_id"]][1]
    assert len(newest["boxes"]) == n[accept["id"]] - 1
    assert corrected.output_for_node("reviewed_labels").images == 4
    totals = meta["corrections_by_model_version"]["seed-model"]["all"]
    assert totals["deleted"] == 1 and totals["unchanged"] == expected_all["unchanged"] - 1


def test_s3_task_images_are_presigned_urls_that_answer(
    label_studio_server, personal_token: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    store = S3ObjectStore(s3_bucket, "", s3_endpoint, "us-east-1")
    _seed(store, tmp_path / "camera")
    resource = LabelStudioResource(
        url=label_studio_server.url, api_key=personal_token, project_title=f"s3 review {uuid.uuid4().hex[:6]}"
    )
    with resource.client() as client:
        report = queue_new_batches(client, store, resource.title(), resource.linker(store))
        assert report.push.created == 8
        task = next(iter(client.iter_tasks(report.project.project_id)))
    url = task["data"]["image"]
    assert url.startswith(s3_endpoint) and "Signature=" in url  # presigned: no credentials needed
    answer = httpx.get(url, timeout=30)  # what the reviewer's browser does: no credentials of its own
    assert answer.status_code == 200
    assert answer.content == store.get_bytes(task["data"]["image_key"])


def test_failures_name_the_server_and_the_token_and_keep_the_labels(
    label_studio_server, personal_token: str, tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    server = label_studio_server
    store = LocalObjectStore(server.document_root / f"fail-{uuid.uuid4().hex[:8]}" / "store")
    samples = _seed(store, tmp_path / "camera")
    earlier = import_label_batch(store, write_review_export(samples, tmp_path / "export"), "yolo")

    def failure(url: str, token: str) -> str:
        resources = _resources(store, server, token, "maskops failures", tmp_path)
        resources["label_studio"] = LabelStudioResource(
            url=url, api_key=token, project_title="maskops failures"
        )
        result = dg.materialize(
            [reviewed_labels], instance=instance, resources=resources, raise_on_error=False
        )
        assert not result.success
        assert list_label_batches(store) == [earlier.label_batch_id]  # the earlier labels are intact
        return result.get_step_failure_events()[0].event_specific_data.error.message

    nobody = f"http://127.0.0.1:{free_port()}"
    message = failure(nobody, personal_token)
    assert nobody in message and "make labelstudio" in message and "LABEL_STUDIO_URL" in message

    message = failure(server.url, "not0the0right0legacy0token")
    assert server.url in message and "legacy token was refused" in message

    head, body, signature = personal_token.split(".")
    forged = ".".join([head, body, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")])
    message = failure(server.url, forged)
    assert server.url in message and "personal access token was refused" in message

    with pytest.raises(LabelStudioUnreachable, match="make labelstudio"):
        LabelStudioClient(nobody, server.legacy_token).whoami()
    with pytest.raises(LabelStudioAuthError) as refused:
        LabelStudioClient(server.url, "not0the0right0legacy0token").whoami()
    assert refused.value.token_kind == LEGACY_TOKEN
    assert LabelStudioClient(server.url, server.legacy_token).whoami()["email"] == "reviewer@maskops.test"

    # a project deleted in the UI: a named error, and nothing pulled is lost
    client = LabelStudioClient(server.url, personal_token)
    project = client.create_project(f"doomed {uuid.uuid4().hex[:6]}", "<View></View>")
    client.request("DELETE", f"/api/projects/{project['id']}/")
    with pytest.raises(LabelStudioProjectMissing, match="labeling_tasks"):
        pull_reviewed(client, project["id"], store)
    assert list_label_batches(store) == [earlier.label_batch_id]
