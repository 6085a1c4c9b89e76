"""The canary watch: a degraded canary is rolled back, a healthy one is promoted after its soak
period, too few frames gives neither; each verdict is a materialization of ``canary_verdict``.

Real telemetry parquet files (written by the edge agent's own writer) in a local object store, a real
MLflow (SQLite), a real Dagster instance and ``dg.build_sensor_context``. The telemetry is generated
with fixed values, so every verdict holds by construction: a "healthy" canary's frames are the very
same values as the control's (every test's p-value is 1), a "degraded" one's confidences are 0.3 lower
on every frame, and the soak clock is the manifest's ``created_at``, set hours away from the limit.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from edge_agent.telemetry import rows_to_parquet, shadow_rows_to_parquet
from maskops_assets.canary.shadow_evidence import read_shadow_evidence
from maskops_assets.canary.statistics import DEGRADED, HEALTHY, SOAKING, TOO_FEW_FRAMES, judge
from maskops_assets.canary.thresholds import CanaryThresholds, ThresholdError
from maskops_assets.canary.watch import WatchCursor, watch_once
from maskops_assets.constants import TRIGGER_REASON_TAG, TRIGGER_TAG
from maskops_assets.defs import release as release_defs
from maskops_assets.monitoring.telemetry_window import read_window
from maskops_assets.release.aliases import sync_aliases
from maskops_assets.release.ledger import ReleaseLedger, plan_release
from maskops_assets.resources import MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.tracking.registry import CHALLENGER, CHAMPION, ModelRegistry
from maskops_contracts import (
    AgentStatus,
    CameraStatus,
    ModelRef,
    ReleaseManifest,
    TelemetryRow,
    telemetry_key,
)
from maskops_contracts.keys import shadow_key
from maskops_contracts.telemetry import ShadowRow

CANARY_CAMERAS = ("cam-c1", "cam-c2")
CONTROL_CAMERAS = ("cam-a1", "cam-a2")
FRAMES_PER_CAMERA = 150  # 300 per group, over the default minimum of 200


def frames(n: int, confidence_shift: float = 0.0, latency: float = 20.0) -> list[dict]:
    """``n`` frames with fixed, spread-out values (the same for every call with the same n)."""
    spread = np.linspace(0.0, 1.0, n)
    out = []
    for i, x in enumerate(spread):
        detections = 1 + i % 3
        mean = 0.6 + 0.3 * x + confidence_shift
        out.append(
            {
                "num_detections": detections,
                "mean_confidence": mean,
                "min_confidence": mean - 0.1,
                "class_counts": {"with_mask": detections - 1, "without_mask": 1},
                "inference_ms": latency + 5.0 * x,
            }
        )
    return out


def write_telemetry(store, camera: str, model_version: str, values: list[dict], end: datetime) -> None:
    """One parquet batch per camera, one frame a second up to ``end``, through the edge's writer."""
    rows = []
    for i, v in enumerate(values):
        rows.append(
            TelemetryRow(
                camera_id=camera,
                ts=end - timedelta(seconds=len(values) - i),
                model_version=model_version,
                brightness=120.0,
                contrast=40.0,
                blur=300.0,
                mean_r=110.0,
                mean_g=115.0,
                mean_b=120.0,
                saturation=60.0,
                **v,
            )
        )
    batch = f"batch-{model_version}-{end.strftime('%H%M%S')}"
    store.put_bytes(
        telemetry_key(camera, rows[0].ts, batch), rows_to_parquet(rows), "application/octet-stream"
    )


def register(registry: ModelRegistry, tmp_path: Path, model_version: str) -> None:
    weights = tmp_path / f"{model_version}.pt"
    weights.write_bytes(model_version.encode())
    with registry.run(f"train-{model_version}") as run_id:
        registry.log_artifact(run_id, weights, "model")
    registry.tag_model_version(registry.register(run_id).version, model_version)


@pytest.fixture
def watch(tmp_path: Path, dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch):
    """m-v1 champion (rel-1), m-v2 canary on two cameras (rel-2) released ``canary_age`` ago."""
    for name in (*CanaryThresholds.ENV.values(), *CanaryThresholds.RETIRED_ENV):
        monkeypatch.delenv(name, raising=False)
    resources = {
        "object_store": ObjectStoreResource(kind="local", root=str(tmp_path / "store")),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            artifact_location=(tmp_path / "artifacts").as_uri(),
        ),
        "work_dir": WorkDirResource(root=str(tmp_path / "work")),
    }
    store = resources["object_store"].open()
    registry = resources["mlflow"].registry()
    ledger = ReleaseLedger(store)
    for version in ("m-v1", "m-v2"):
        register(registry, tmp_path, version)

    def release(canary_age: timedelta) -> ReleaseManifest:
        first = plan_release(None, ModelRef("m-v1", "models/m-v1/model.onnx", "1" * 64), release_id="rel-1")
        ledger.publish(first)
        second = plan_release(
            first,
            ModelRef("m-v2", "models/m-v2/model.onnx", "2" * 64),
            release_id="rel-2",
            canary_cameras=CANARY_CAMERAS,
        )
        second = replace(second, created_at=datetime.now(UTC) - canary_age)
        ledger.publish(second)
        sync_aliases(registry, second)
        return second

    def traffic(n: int, canary_shift: float = 0.0, canary_latency: float = 20.0) -> None:
        end = datetime.now(UTC) - timedelta(seconds=5)
        for camera in CONTROL_CAMERAS:
            write_telemetry(store, camera, "m-v1", frames(n), end)
        for camera in CANARY_CAMERAS:
            write_telemetry(store, camera, "m-v2", frames(n, canary_shift, canary_latency), end)

    def tick(cursor: str | None = None) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=dagster_instance, cursor=cursor, resources=resources)
        return release_defs.canary_watch_sensor(context)

    return {
        "release": release,
        "traffic": traffic,
        "tick": tick,
        "store": store,
        "ledger": ledger,
        "registry": registry,
        "resources": resources,
        "instance": dagster_instance,
    }


def skipped(result: dg.SensorResult) -> str:
    return result.skip_reason.skip_message if result.skip_reason else ""


def verdict_of(result: dg.SensorResult) -> dict:
    (event,) = result.asset_events
    assert event.asset_key == dg.AssetKey("canary_verdict")
    return {key: value.value for key, value in event.metadata.items()}


def test_degraded_canary_is_rolled_back_and_the_rollback_is_recorded(watch):
    watch["release"](timedelta(minutes=20))
    watch["traffic"](FRAMES_PER_CAMERA, canary_shift=-0.3)

    result = watch["tick"]()
    (request,) = result.run_requests
    assert request.job_name == "rollback_release" and request.run_key == "rollback_release:rel-2"
    assert request.tags[TRIGGER_TAG] == "canary_watch"
    assert "mean_confidence" in request.tags[TRIGGER_REASON_TAG]
    verdict = verdict_of(result)
    assert verdict["status"] == DEGRADED and verdict["requested"] == "rollback_release"
    assert verdict["canary_frames"] == verdict["control_frames"] == 2 * FRAMES_PER_CAMERA
    assert verdict["mean_confidence_p_value"] < 0.05
    assert verdict["mean_confidence_control"] - verdict["mean_confidence_canary"] == pytest.approx(0.3)
    picture = Path(verdict["picture_file"])
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert verdict["picture"].endswith(f"/artifactPath/canary/{picture.name}")

    # one decision per release: the next tick waits for the rollback run, requests nothing again
    again = watch["tick"](result.cursor)
    assert not again.run_requests and not again.asset_events
    assert "already requested" in skipped(again)

    # the requested run, as the daemon would launch it, restores rel-1 and records it on the asset
    job = dg.Definitions(jobs=release_defs.JOBS, resources=watch["resources"]).resolve_job_def(
        request.job_name
    )
    assert job.execute_in_process(instance=watch["instance"], tags=request.tags).success
    assert watch["ledger"].current().release_id == "rel-1"
    assert watch["registry"].alias_version(CHALLENGER) is None
    event = watch["instance"].get_latest_materialization_event(dg.AssetKey("deployment_release"))
    recorded = event.asset_materialization.metadata
    assert recorded["release_id"].value == "rel-1" and recorded["triggered_by"].value == "canary_watch"
    # with no canary left there is nothing to watch
    assert "has no canary" in skipped(watch["tick"](result.cursor))


def test_healthy_canary_is_promoted_after_the_soak_period_not_before(watch):
    watch["release"](timedelta(minutes=20))
    watch["traffic"](FRAMES_PER_CAMERA)
    soaking = watch["tick"]()
    assert not soaking.run_requests
    verdict = verdict_of(soaking)
    assert verdict["status"] == SOAKING and verdict["requested"] == "nothing (keep watching)"
    assert verdict["mean_confidence_p_value"] > 0.5  # the very same values on both sides
    assert "healthy so far; soaking" in skipped(soaking) and "of 60 min" in skipped(soaking)
    # the same state on the next tick is not recorded twice
    assert not watch["tick"](soaking.cursor).asset_events

    watch["release"](timedelta(hours=2))  # the same canary release, now past its soak period
    result = watch["tick"](soaking.cursor)
    (request,) = result.run_requests
    assert request.job_name == "promote_canary"
    assert verdict_of(result)["status"] == HEALTHY
    job = dg.Definitions(jobs=release_defs.JOBS, resources=watch["resources"]).resolve_job_def(
        request.job_name
    )
    assert job.execute_in_process(instance=watch["instance"], tags=request.tags).success
    live = watch["ledger"].current()
    assert live.champion.model_version == "m-v2" and live.canary is None
    assert watch["registry"].alias_version(CHAMPION).model_version == "m-v2"


def test_too_few_frames_gives_neither_rollback_nor_promotion(watch, monkeypatch):
    watch["release"](timedelta(hours=2))  # past the soak period: only the sample size holds it back
    watch["traffic"](50, canary_shift=-0.3)  # 100 frames per group, 200 needed
    result = watch["tick"]()
    assert not result.run_requests
    verdict = verdict_of(result)
    assert verdict["status"] == TOO_FEW_FRAMES and verdict["canary_frames"] == 100
    assert "keep watching" in skipped(result) and "200 needed" in skipped(result)
    assert WatchCursor.from_json(result.cursor).requested is None
    # the minimum is a setting: lowered below the sample, the same frames are judged degraded
    monkeypatch.setenv("MASKOPS_CANARY_MIN_FRAMES", "80")
    lowered = watch["tick"](result.cursor)
    assert lowered.run_requests[0].job_name == "rollback_release"


def test_canary_errors_from_agent_status_degrade_it(watch):
    watch["release"](timedelta(minutes=20))
    watch["traffic"](FRAMES_PER_CAMERA)  # telemetry alike: only the errors differ
    cameras = (
        CameraStatus("cam-c1", "running", "m-v2", "rel-2", True, frames_analysed=900, frame_errors=100),
        CameraStatus("cam-a1", "running", "m-v1", "rel-2", False, frames_analysed=1000, frame_errors=1),
    )
    status = AgentStatus(agent_id="box-1", sent_at=datetime.now(UTC), cameras=cameras)
    watch["store"].put_bytes("agents/box-1/status.json", status.to_json().encode(), "application/json")
    result = watch["tick"]()
    assert result.run_requests[0].job_name == "rollback_release"
    verdict = verdict_of(result)
    assert verdict["error_rate_canary"] == pytest.approx(0.1) and "error_rate" in verdict["summary"]


def test_latency_and_the_split_by_the_manifest(watch):
    """Plain statistics: canary p99 over twice the control's degrades; a canary camera still on the
    champion counts in neither group."""
    manifest = watch["release"](timedelta(minutes=20))
    watch["traffic"](FRAMES_PER_CAMERA, canary_latency=60.0)
    end = datetime.now(UTC)
    write_telemetry(watch["store"], "cam-c1", "m-v1", frames(40), end)  # not swapped yet
    since = end - timedelta(hours=1)
    rows = read_window(watch["store"], since, end + timedelta(seconds=1)).rows
    verdict = judge(manifest, rows, since=since, until=end, thresholds=CanaryThresholds())
    assert verdict.canary_frames == verdict.control_frames == 2 * FRAMES_PER_CAMERA
    assert verdict.status == DEGRADED
    (latency,) = [c for c in verdict.comparisons if c.degraded]
    assert latency.signal == "latency_p99_ms" and latency.canary / latency.control > 2.0


def counted(n: int, detections: list[int], label: str = "with_mask") -> list[dict]:
    """``frames(n)`` with the detections per frame cycling through ``detections``, every one of class
    ``label`` (class counts and confidences follow: a frame with no detection has confidence 0, as
    the agent writes it)."""
    out = []
    for i, v in enumerate(frames(n)):
        k = detections[i % len(detections)]
        out.append(
            {
                **v,
                "num_detections": k,
                "class_counts": {label: k},
                "mean_confidence": v["mean_confidence"] if k else 0.0,
                "min_confidence": v["min_confidence"] if k else 0.0,
            }
        )
    return out


def detections_verdict(watch, canary: list[int], control: list[int]):
    """Judge the canary with every canary frame cycling ``canary`` detections, every control frame
    ``control``: (the verdict, its detections-per-frame comparison)."""
    manifest = watch["release"](timedelta(minutes=20))
    end = datetime.now(UTC) - timedelta(seconds=5)
    for camera in CONTROL_CAMERAS:
        write_telemetry(watch["store"], camera, "m-v1", counted(FRAMES_PER_CAMERA, control), end)
    for camera in CANARY_CAMERAS:
        write_telemetry(watch["store"], camera, "m-v2", counted(FRAMES_PER_CAMERA, canary), end)
    since = end - timedelta(hours=1)
    rows = read_window(watch["store"], since, end + timedelta(seconds=10)).rows
    # the class mix is another rule (a control with another mix of classes is its own question);
    # the canary is 20 minutes old, past a 10-minute soak
    thresholds = CanaryThresholds(class_mix_shift=1.0, soak_minutes=10)
    verdict = judge(manifest, rows, since=since, until=end, thresholds=thresholds)
    (detections,) = [c for c in verdict.comparisons if c.signal == "detections_per_frame"]
    return verdict, detections


def test_a_canary_finding_faces_the_champion_misses_is_not_degraded(watch):
    """The demo's case: the control (the old model on a new domain) finds a face in one frame of
    ten, the canary 2 to 4 per frame. Relative to the control's mean that is a 30-fold change; it is
    measured against max(control mean, 1 detection/frame), a rise of 2.9, under the rise tolerance 10."""
    verdict, detections = detections_verdict(watch, canary=[2, 3, 4], control=[1] + [0] * 9)
    assert detections.control == pytest.approx(0.1) and detections.canary == pytest.approx(3.0)
    assert detections.p_value < 1e-6  # a real difference, and not a fault
    assert not detections.degraded and "rise 2.900" in detections.note
    assert verdict.status == HEALTHY, verdict.summary


def test_a_canary_finding_fewer_faces_is_degraded(watch):
    """Control 3 detections per frame, canary 1: a drop of 2/3 of the control's mean, over 0.5."""
    verdict, detections = detections_verdict(watch, canary=[1], control=[2, 3, 4])
    assert detections.degraded and "drop 0.667" in detections.note
    assert verdict.status == DEGRADED and "detections_per_frame" in verdict.summary


def test_a_runaway_rise_of_detections_is_degraded(watch):
    """A canary that fires everywhere (12 boxes a frame against 0.1): a rise of 11.9 > 10."""
    verdict, detections = detections_verdict(watch, canary=[12], control=[1] + [0] * 9)
    assert detections.degraded and "rise 11.900" in detections.note
    assert verdict.status == DEGRADED


def test_a_drop_on_a_control_that_finds_almost_nothing_is_measured_against_the_floor(watch):
    """Control 0.3 detections per frame, canary 0: all of the control's mean, but 0.3 of the floor
    (1 detection/frame), under the drop tolerance 0.5; with the floor at 0.3 it degrades."""
    _, detections = detections_verdict(watch, canary=[0], control=[1, 0, 0])
    assert detections.control == pytest.approx(1 / 3)
    assert not detections.degraded and "drop 0.333" in detections.note
    manifest = watch["ledger"].current()
    end = datetime.now(UTC)
    rows = read_window(watch["store"], end - timedelta(hours=1), end).rows
    strict = CanaryThresholds(class_mix_shift=1.0, detections_floor=0.3)
    verdict = judge(manifest, rows, since=end - timedelta(hours=1), until=end, thresholds=strict)
    (detections,) = [c for c in verdict.comparisons if c.signal == "detections_per_frame"]
    assert detections.degraded and "drop 1.000" in detections.note


def test_thresholds_name_the_variable_when_wrong():
    assert CanaryThresholds.from_env({}) == CanaryThresholds()
    tuned = CanaryThresholds.from_env(
        {"MASKOPS_CANARY_SOAK_MINUTES": "90", "MASKOPS_CANARY_MIN_FRAMES": "50"}
    )
    assert tuned.soak == timedelta(minutes=90) and tuned.min_frames == 50
    with pytest.raises(ThresholdError, match=r"\$MASKOPS_CANARY_MIN_FRAMES .* must be an integer"):
        CanaryThresholds.from_env({"MASKOPS_CANARY_MIN_FRAMES": "lots"})
    with pytest.raises(ThresholdError, match="MASKOPS_CANARY_ALPHA"):
        CanaryThresholds(alpha=1.5)
    detections = CanaryThresholds.from_env(
        {
            "MASKOPS_CANARY_DETECTIONS_DROP": "0.3",
            "MASKOPS_CANARY_DETECTIONS_RISE": "5",
            "MASKOPS_CANARY_DETECTIONS_FLOOR": "0.5",
        }
    )
    assert (detections.detections_drop, detections.detections_rise) == (0.3, 5.0)
    assert detections.detections_reference(0.1) == 0.5 and detections.detections_reference(2.0) == 2.0
    with pytest.raises(ThresholdError, match=r"MASKOPS_CANARY_DETECTIONS_FLOOR.*must be > 0"):
        CanaryThresholds(detections_floor=0.0)
    with pytest.raises(ThresholdError, match=r"\$MASKOPS_CANARY_DETECTIONS_CHANGE is no longer read"):
        CanaryThresholds.from_env({"MASKOPS_CANARY_DETECTIONS_CHANGE": "0.5"})


def test_the_watch_is_on_by_default_and_targets_the_release_jobs(monkeypatch):
    sensor = release_defs.canary_watch_sensor
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert {target.job_name for target in sensor.targets} == {"promote_canary", "rollback_release"}
    assert sensor.minimum_interval_seconds == release_defs._watch_interval()
    monkeypatch.delenv("MASKOPS_CANARY_WATCH_INTERVAL_S", raising=False)
    assert release_defs._watch_interval() == 300
    monkeypatch.setenv("MASKOPS_CANARY_WATCH_INTERVAL_S", "10")
    assert release_defs._watch_interval() == 30  # never more often than every 30 s
    monkeypatch.setenv("MASKOPS_CANARY_WATCH_INTERVAL_S", "often")
    with pytest.raises(ValueError, match="MASKOPS_CANARY_WATCH_INTERVAL_S must be a whole number"):
        release_defs._watch_interval()


# --- class mix: a floor of detections per group ------------------------------------------------


def write_mix(watch, canary: list[int], control: list[int], canary_label: str, control_label: str) -> None:
    """Every canary frame cycles ``canary`` detections of ``canary_label``, every control frame
    ``control`` detections of ``control_label`` (two cameras a group, FRAMES_PER_CAMERA each)."""
    end = datetime.now(UTC) - timedelta(seconds=5)
    for camera in CONTROL_CAMERAS:
        values = counted(FRAMES_PER_CAMERA, control, control_label)
        write_telemetry(watch["store"], camera, "m-v1", values, end)
    for camera in CANARY_CAMERAS:
        values = counted(FRAMES_PER_CAMERA, canary, canary_label)
        write_telemetry(watch["store"], camera, "m-v2", values, end)


def test_a_class_mix_below_the_floor_is_not_compared_and_not_rolled_back(watch, monkeypatch):
    """The demo's case for the class mix: the control finds a face in one frame of ten (30
    detections over 300 frames, all labelled without_mask), the canary 2 to 4 per frame labelled
    with_mask: the mixes could not differ more (distance 1.0), but 30 control detections are under
    the floor of 100, so the rule says so and judges nothing; the healthy canary is promoted. With
    the floor lowered to 30 the same rows are compared, and that shift rolls the canary back."""
    watch["release"](timedelta(minutes=20))
    write_mix(
        watch, canary=[2, 3, 4], control=[1] + [0] * 9, canary_label="with_mask", control_label="without_mask"
    )
    monkeypatch.setenv("MASKOPS_CANARY_SOAK_MINUTES", "10")
    result = watch["tick"]()
    (request,) = result.run_requests
    assert request.job_name == "promote_canary"
    verdict = verdict_of(result)
    assert verdict["status"] == HEALTHY
    (mix,) = [c for c in verdict["comparisons"] if c["signal"] == "class_mix_tvd"]
    assert not mix["degraded"] and mix["p_value"] is None
    assert mix["note"] == (
        "not enough detections to compare: 900 canary / 30 control detections, 100 needed per group"
    )
    assert "class_mix_tvd: not enough detections to compare" in verdict["summary"]
    assert "not enough detections to compare" in verdict["report"]

    monkeypatch.setenv("MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS", "30")
    lowered = watch["tick"]()
    assert lowered.run_requests[0].job_name == "rollback_release"
    verdict = verdict_of(lowered)
    assert verdict["status"] == DEGRADED and verdict["class_mix_tvd_canary"] == pytest.approx(1.0)
    assert "class_mix_tvd" in verdict["summary"]


def test_a_class_mix_shift_above_the_floor_still_rolls_back(watch):
    """300 detections a group, every canary one with_mask and every control one without_mask:
    over the floor, distance 1.0 > 0.2, chi-square p < alpha: degraded."""
    manifest = watch["release"](timedelta(minutes=20))
    write_mix(watch, canary=[1], control=[1], canary_label="with_mask", control_label="without_mask")
    end = datetime.now(UTC)
    rows = read_window(watch["store"], end - timedelta(hours=1), end).rows
    verdict = judge(manifest, rows, since=end - timedelta(hours=1), until=end, thresholds=CanaryThresholds())
    (mix,) = [c for c in verdict.comparisons if c.signal == "class_mix_tvd"]
    assert mix.degraded and mix.canary == pytest.approx(1.0) and mix.p_value < 1e-6
    assert verdict.status == DEGRADED and [c.signal for c in verdict.comparisons if c.degraded] == [
        "class_mix_tvd"
    ]
    # the same mix on both sides, over the floor: compared, and healthy
    (alike,) = [
        c
        for c in judge(
            manifest,
            rows.assign(count_with_mask=rows["num_detections"], count_without_mask=0),
            since=end - timedelta(hours=1),
            until=end,
            thresholds=CanaryThresholds(),
        ).comparisons
        if c.signal == "class_mix_tvd"
    ]
    assert alike.canary == 0.0 and not alike.degraded


def test_class_mix_floor_and_shadow_hours_settings_name_the_variable_when_wrong(watch, monkeypatch):
    assert CanaryThresholds().class_mix_min_detections == 100
    assert CanaryThresholds.from_env(
        {"MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS": "40", "MASKOPS_CANARY_SHADOW_HOURS": "6"}
    ) == CanaryThresholds(class_mix_min_detections=40, shadow_hours=6.0)
    for raw in ("many", "2.5"):
        with pytest.raises(
            ThresholdError, match=r"\$MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS .* must be an integer"
        ):
            CanaryThresholds.from_env({"MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS": raw})
    with pytest.raises(ThresholdError, match=r"MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS\) must be at least 1"):
        CanaryThresholds.from_env({"MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS": "0"})
    with pytest.raises(ThresholdError, match=r"MASKOPS_CANARY_SHADOW_HOURS\) must be >= 0"):
        CanaryThresholds.from_env({"MASKOPS_CANARY_SHADOW_HOURS": "-1"})
    with pytest.raises(ThresholdError, match=r"MASKOPS_CANARY_SHADOW_HOURS\) must be a finite"):
        CanaryThresholds.from_env({"MASKOPS_CANARY_SHADOW_HOURS": "inf"})
    # the sensor says so rather than judging with a setting it could not read
    watch["release"](timedelta(minutes=20))
    monkeypatch.setenv("MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS", "few")
    result = watch["tick"]()
    assert not result.run_requests and not result.asset_events
    assert "not configured correctly" in skipped(result)
    assert "MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS" in skipped(result)


# --- shadow evidence: what shadow mode measured of the canary's model -------------------------


def shadow_row(camera: str, ts: datetime, shadow_model: str, *, agree: bool) -> ShadowRow:
    """One frame where the champion found two faces and the shadow one, on top of the first: the
    same class (``agree``) or with_mask called without_mask."""
    return ShadowRow(
        camera_id=camera,
        ts=ts,
        model_version="m-v1",
        shadow_model_version=shadow_model,
        champion_boxes=2,
        shadow_boxes=1,
        matched=1,
        class_agreed=1 if agree else 0,
        champion_only=1,
        shadow_only=0,
        mean_confidence_delta=0.1,
        class_mismatches={} if agree else {"with_mask": 1},
    )


def put_shadow(store, rows: list[ShadowRow], batch: str) -> None:
    """As an agent stores them: the edge's encoder under ``shadow_key``."""
    key = shadow_key(rows[0].camera_id, rows[0].ts, batch)
    store.put_bytes(key, shadow_rows_to_parquet(rows), "application/vnd.apache.parquet")


def shadowed_before_release(watch, manifest: ReleaseManifest, *, agree: bool) -> datetime:
    """m-v2 shadowed on cam-a1 (3 frames) and cam-c1 (2 frames) two hours before its release, with
    rows the evidence must leave out: another shadow model, and m-v2 a day and more before."""
    start = manifest.created_at - timedelta(hours=2)
    a1 = [shadow_row("cam-a1", start + timedelta(minutes=m), "m-v2", agree=agree) for m in (0, 1, 2)]
    c1 = [shadow_row("cam-c1", start + timedelta(minutes=m), "m-v2", agree=agree) for m in (5, 10)]
    put_shadow(watch["store"], a1, "s-a1")
    put_shadow(watch["store"], c1, "s-c1")
    put_shadow(watch["store"], [shadow_row("cam-a2", start, "m-v9", agree=True)], "s-other-model")
    old = manifest.created_at - timedelta(hours=30)
    put_shadow(watch["store"], [shadow_row("cam-a2", old, "m-v2", agree=True)], "s-too-old")
    return start


def test_the_verdict_carries_the_shadow_evidence_of_the_canary_model(watch):
    manifest = watch["release"](timedelta(minutes=20))
    watch["traffic"](FRAMES_PER_CAMERA)
    start = shadowed_before_release(watch, manifest, agree=False)
    broken = shadow_key("cam-a1", start, "s-broken")
    watch["store"].put_bytes(broken, b"not parquet", "application/vnd.apache.parquet")
    result = watch["tick"]()
    verdict = verdict_of(result)
    assert verdict["status"] == SOAKING
    assert verdict["shadow_frames_compared"] == 5
    assert verdict["shadow_agreement"] == 0.0  # every matched box named otherwise, and kept informational
    shadow = verdict["shadow"]
    assert shadow["model_version"] == "m-v2" and shadow["compared_with"] == ["m-v1"]
    assert shadow["window"] == f"{start.isoformat()} .. {(start + timedelta(minutes=10)).isoformat()}"
    searched_from = manifest.created_at - timedelta(hours=24)
    assert shadow["searched"].startswith(searched_from.isoformat())
    a1, c1 = shadow["cameras"]
    assert (a1["camera_id"], a1["frames_compared"], a1["agreement"], a1["class_agreement"]) == (
        "cam-a1",
        3,
        0.0,
        0.0,
    )
    assert (c1["camera_id"], c1["frames_compared"], c1["class_mismatches"]) == ("cam-c1", 2, {"with_mask": 2})
    assert verdict["shadow_evidence"].startswith(
        "5 frames of m-v2 as shadow compared with m-v1 on 2 camera(s)"
    )
    assert "judges nothing" in verdict["shadow_evidence"]
    report = verdict["report"]
    assert "### Shadow evidence for m-v2" in report
    assert "| cam-a1 | m-v2 | 3 | 0 | 0.000 | 0.000 | +0.100 | 3 | 0 | with_mask: 3 |" in report
    assert shadow["unreadable_files"][0].startswith(broken) and f"could not be read: {broken}" in report
    assert Path(verdict["picture_file"]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_without_shadow_rows_of_the_canary_model_the_verdict_says_none(watch, monkeypatch):
    manifest = watch["release"](timedelta(minutes=20))
    watch["traffic"](FRAMES_PER_CAMERA)
    put_shadow(
        watch["store"],
        [shadow_row("cam-a1", manifest.created_at - timedelta(hours=1), "m-v9", agree=True)],
        "s-other-model",
    )
    verdict = verdict_of(watch["tick"]())
    assert verdict["shadow_frames_compared"] == 0 and "shadow_agreement" not in verdict
    assert verdict["shadow_evidence"].startswith("none: no shadow comparisons of m-v2 between")
    assert verdict["shadow"]["cameras"] == [] and verdict["shadow"]["window"] is None
    assert "none: no shadow comparisons of m-v2" in verdict["report"]
    # shadow_hours 0: not looked up at all
    monkeypatch.setenv("MASKOPS_CANARY_SHADOW_HOURS", "0")
    watch["release"](timedelta(minutes=25))
    verdict = verdict_of(watch["tick"]())
    assert "shadow_evidence" not in verdict and "Shadow evidence" not in verdict["report"]


@pytest.mark.parametrize(
    ("canary_shift", "soak", "agree", "action"),
    [
        (0.0, timedelta(hours=2), False, "promote"),  # healthy, past soak: total disagreement promotes
        (-0.3, timedelta(minutes=20), True, "rollback"),  # degraded: full agreement rolls back
    ],
)
def test_the_shadow_evidence_changes_no_verdict(watch, canary_shift, soak, agree, action):
    """The same telemetry judged with and without the evidence: the same verdict, action and cursor."""
    manifest = watch["release"](soak)
    watch["traffic"](FRAMES_PER_CAMERA, canary_shift=canary_shift)
    shadowed_before_release(watch, manifest, agree=agree)
    store = watch["store"]
    thresholds = CanaryThresholds()

    def read_rows(since, until):
        return read_window(store, since, until).rows

    now = datetime.now(UTC)
    plain = watch_once(manifest, WatchCursor(), read_rows, thresholds, now=now)
    shown = watch_once(
        manifest,
        WatchCursor(),
        read_rows,
        thresholds,
        now=now,
        read_shadow=lambda model, since, until: read_shadow_evidence(store, model, since, until),
    )
    assert plain.verdict.shadow is None and shown.verdict.shadow.frames_compared == 5
    assert shown.verdict.shadow.agreement == (1 / 2 if agree else 0.0)
    assert replace(shown.verdict, shadow=None) == plain.verdict
    assert shown.action == plain.action == action and shown.cursor == plain.cursor
    assert shown.skip_reason == plain.skip_reason
