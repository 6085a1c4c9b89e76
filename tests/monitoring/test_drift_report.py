"""The drift report end to end in plain code: the champion's training images as the reference,
camera telemetry computed by the edge agent's own pipeline, Evidently's tests, the stored report.

Each verdict holds by construction, not by chance:
- an unshifted camera shows exactly the training scenes, so every feature's empirical distribution
  equals the reference's: the KS statistic is 0 and its p-value 1, for every feature;
- a shifted camera shows the same scenes at 30 % light and out of focus: brightness, contrast,
  blur and the three colour means of every frame fall to at most 30 % of its own scene's (checked
  below), a shift of the whole distribution by a factor of three or more that KS detects on 40
  frames whatever the scenes are, so at least 6 of the 13 features drift: a share of 0.46, over
  the 0.3 threshold;
- the fake detector finds the same two boxes on every frame, so detection features never drift.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from drift_builders import MODEL_VERSION, StaticSource, load_fake_detector, write_camera_telemetry

from maskops_assets.monitoring.drift import DriftTest
from maskops_assets.monitoring.drift_report import (
    NO_REFERENCE,
    NO_TELEMETRY,
    OK,
    DriftSettings,
    run_drift_report,
)
from maskops_assets.monitoring.drift_summary import read_latest
from maskops_assets.monitoring.features import DRIFT_FEATURES, FRAME_FEATURES
from maskops_assets.monitoring.reference import reference_key
from maskops_assets.store import LocalObjectStore

SETTINGS = DriftSettings(min_rows=20, min_rows_per_camera=20)
SHIFTED_FEATURES = {"brightness", "contrast", "blur", "mean_r", "mean_g", "mean_b"}


def _run(released, source=None, settings=SETTINGS):
    source = source or StaticSource(released.training_images, released.onnx)
    return run_drift_report(released.store, source, settings)


def test_darker_blurrier_camera_drifts_and_is_named(released, camera_frames):
    detector = load_fake_detector(released.onnx)
    write_camera_telemetry(released.store, "lobby-cam", camera_frames(False), detector)
    write_camera_telemetry(released.store, "yard-cam", camera_frames(True), detector)

    outcome = _run(released)

    assert outcome.status == OK, outcome.message
    summary = read_latest(released.store)
    assert summary == outcome.summary
    # the construction: each shifted frame measures at most 30 % (+ rounding) of its own scene
    reference = outcome.reference.rows
    shifted = _rows(released.store, "yard-cam")
    for feature in SHIFTED_FEATURES:
        assert (shifted[feature] <= 0.3 * reference[feature] + 1.0).all(), feature
    drifted = {f.name for f in summary.features if f.drifted}
    assert drifted >= SHIFTED_FEATURES
    assert summary.drift_share >= summary.threshold == 0.3
    assert summary.drifted_cameras == ("yard-cam",)
    assert summary.cameras["lobby-cam"] == 0.0
    assert summary.cameras["yard-cam"] >= 6 / 13
    yard = {f.name: f for f in outcome.camera_features["yard-cam"]}
    assert all(yard[name].drifted and yard[name].score < 0.05 for name in SHIFTED_FEATURES)
    brightness = summary.feature("brightness")
    assert brightness.stattest == "K-S p_value" and brightness.score < 0.05
    # what was compared, and the report a person reads, are in the store
    assert [f.name for f in summary.features] == list(DRIFT_FEATURES)
    assert summary.rows == 2 * len(reference) and summary.reference_rows == len(reference)
    assert "dataset dataset-v1" in summary.reference and MODEL_VERSION in summary.reference
    html = released.store.get_bytes(summary.html_key)
    assert summary.html_key == f"reports/drift/{summary.report_id}.html" and b"brightness" in html
    assert released.store.get_bytes(outcome.picture_key)[:8] == b"\x89PNG\r\n\x1a\n"


def test_unshifted_camera_stays_under_the_threshold(released, camera_frames):
    detector = load_fake_detector(released.onnx)
    write_camera_telemetry(released.store, "lobby-cam", camera_frames(False), detector)

    outcome = _run(released)

    assert outcome.status == OK, outcome.message
    summary = outcome.summary
    assert summary.drift_share == 0.0 < summary.threshold
    assert all(f.score == pytest.approx(1.0) and not f.drifted for f in summary.features)
    assert summary.cameras == {"lobby-cam": 0.0} and summary.drifted_cameras == ()


def test_reference_is_built_once_per_dataset_and_model(released, camera_frames):
    detector = load_fake_detector(released.onnx)
    write_camera_telemetry(released.store, "lobby-cam", camera_frames(False), detector)
    source = StaticSource(released.training_images, released.onnx)

    first = _run(released, source)
    second = _run(released, source)

    assert first.reference.built_now and not second.reference.built_now
    assert source.image_calls == 1
    assert released.store.exists(reference_key("dataset-v1", MODEL_VERSION))
    pd.testing.assert_frame_equal(first.reference.rows, second.reference.rows)
    assert first.reference.detections and second.reference.detections
    assert first.summary.report_id != second.summary.report_id
    assert read_latest(released.store).report_id == second.summary.report_id


def test_without_a_detector_only_frame_features_are_compared(released, camera_frames):
    detector = load_fake_detector(released.onnx)
    write_camera_telemetry(released.store, "lobby-cam", camera_frames(False), detector)
    source = StaticSource(released.training_images, released.onnx / "missing.onnx")

    outcome = _run(released, source)

    assert outcome.status == OK
    assert not outcome.reference.detections and "could not run" in outcome.reference.note
    assert [f.name for f in outcome.summary.features] == list(FRAME_FEATURES)
    assert "frame features only" in outcome.summary.reference


def test_rows_of_another_model_count_for_frame_features_only(released, camera_frames):
    detector = load_fake_detector(released.onnx)
    write_camera_telemetry(
        released.store, "canary-cam", camera_frames(False), detector, model_version="canary-v2"
    )
    write_camera_telemetry(released.store, "lobby-cam", camera_frames(False), detector)

    outcome = _run(released)

    canary = {f.name for f in outcome.camera_features["canary-cam"]}
    assert canary == set(FRAME_FEATURES)
    assert {f.name for f in outcome.camera_features["lobby-cam"]} == set(DRIFT_FEATURES)


def test_no_champion_gives_a_status_and_writes_nothing(tmp_path, released, camera_frames):
    store = LocalObjectStore(tmp_path / "empty-store")
    write_camera_telemetry(store, "lobby-cam", camera_frames(False), load_fake_detector(released.onnx))

    outcome = run_drift_report(store, StaticSource(released.training_images, released.onnx), SETTINGS)

    assert outcome.status == NO_REFERENCE and "no release yet" in outcome.message
    assert outcome.summary is None and read_latest(store) is None
    assert store.list_keys("reports/") == []


def test_too_little_telemetry_gives_a_status_and_writes_nothing(released, camera_frames):
    frames = camera_frames(False)[:5]
    write_camera_telemetry(released.store, "lobby-cam", frames, load_fake_detector(released.onnx))

    outcome = _run(released)

    assert outcome.status == NO_TELEMETRY and "5 telemetry rows" in outcome.message
    assert read_latest(released.store) is None
    assert released.store.list_keys("reports/") == []


def test_telemetry_outside_the_window_is_not_read(released, camera_frames):
    from datetime import UTC, datetime, timedelta

    old = datetime.now(UTC) - timedelta(days=3)
    write_camera_telemetry(
        released.store, "lobby-cam", camera_frames(True), load_fake_detector(released.onnx), end=old
    )

    outcome = _run(released)

    assert outcome.status == NO_TELEMETRY and outcome.window_rows == 0


def test_settings_refuse_what_cannot_work():
    with pytest.raises(ValueError, match="stattest 'nope'"):
        DriftTest(stattest="nope")
    with pytest.raises(ValueError, match="drift share"):
        DriftTest(share_threshold=0)
    with pytest.raises(ValueError, match="max_rows"):
        DriftSettings(min_rows=500, max_rows=100)


def _rows(store, camera_id: str) -> pd.DataFrame:
    keys = store.list_keys(f"telemetry/{camera_id}/")
    return pd.concat([pd.read_parquet(io.BytesIO(store.get_bytes(k))) for k in keys], ignore_index=True)
