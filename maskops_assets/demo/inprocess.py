"""The graph once, in this process: seed samples from a shifted clip, run the ingest sensor, and
materialize ``maskops_main`` with a review export. ``make demo`` no longer works this way (it runs
the closed loop with the real processes: ``maskops_assets.demo.loop``); the tests that check the
graph end to end in-process (tests/platform/test_graph_end_to_end.py, test_training_asset.py) still do.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class InProcessSettings:
    """Sizes chosen so one in-process pass finishes in a few minutes on two CPU cores."""

    clip_frames: int = 60
    keep_every: int = 2
    base_images: int = 120
    imgsz: int = 160
    epochs: int = 12
    # batch = nbs: ultralytics would otherwise accumulate to 64 images per step, too few steps on
    # ~150 images for a model trained from scratch (see bench/README.md, learnability)
    batch: int = 8
    approved_by: str = "maskops-demo"
    # retrain even when the dataset version is the one the latest registered model was trained on
    force_retrain: bool = False


# Dagster's console logger at INFO: progress lines without the DEBUG event and IO-manager chatter.
CONSOLE_AT_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _say(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


class _SkippedGateNotice(logging.Filter):
    """Drops Dagster's "Blocking asset check ... emitted no result" warnings: the gate checks emit
    none only when they were skipped with ``model_evaluation`` (nothing retrained), and the release
    is then skipped as well, so the warning says the opposite of what happens."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "emitted no result" not in record.getMessage()


def quiet_libraries() -> None:
    """MLflow logs warnings only and ultralytics stays quiet from its first import on."""
    from maskops_assets.training.ultralytics_env import quiet_on_import

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    quiet_on_import()
    gate_notices = logging.getLogger("dagster._core.execution.plan.active")
    if not any(isinstance(f, _SkippedGateNotice) for f in gate_notices.filters):
        gate_notices.addFilter(_SkippedGateNotice())


def main_run_config(review_dir: Path, settings: InProcessSettings) -> dict[str, Any]:
    return {
        **CONSOLE_AT_INFO,
        "ops": {
            "reviewed_labels": {"config": {"import_dir": str(review_dir), "format": "yolo"}},
            "labeled_dataset": {
                "config": {"base_images": settings.base_images, "base_image_size": settings.imgsz}
            },
            "trained_model": {
                "config": {
                    "force": settings.force_retrain,
                    "train": {
                        "epochs": settings.epochs,
                        "imgsz": settings.imgsz,
                        "batch": settings.batch,
                        "nbs": settings.batch,
                        "patience": settings.epochs,
                    },
                }
            },
            "deployment_release": {"config": {"release_policy": "auto"}},
        },
    }


def ingest(defs, instance, store, work: Path, settings: InProcessSettings) -> list:
    """Seed the store like a camera would, run the ingest sensor once, collect each new batch."""
    import dagster as dg

    from maskops_assets.ingest.seeding import seed_samples_from_video

    _say(f"seeding {settings.clip_frames // settings.keep_every} samples from a shifted synthetic clip")
    samples = seed_samples_from_video(
        store,
        work / "demo_camera",
        n_frames=settings.clip_frames,
        every=settings.keep_every,
        size=(settings.imgsz, settings.imgsz),
    )
    sensor = defs.resolve_sensor_def("new_samples_sensor")
    context = dg.build_sensor_context(
        instance=instance, resources={"object_store": defs.resources["object_store"]}
    )
    result = sensor(context)
    requests = result.run_requests or []
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    ingest_job = defs.resolve_job_def("ingest_job")
    for request in requests:
        _say(f"collecting ingest batch {request.partition_key}")
        ingest_job.execute_in_process(
            run_config=CONSOLE_AT_INFO, instance=instance, partition_key=request.partition_key
        )
    if not requests:
        _say("no new samples (already ingested earlier)")
    return samples


def not_retrained(result) -> str | None:
    """Why ``trained_model`` did not train in ``result`` (its observation's message), or None."""
    from maskops_assets.defs.training import NOT_RETRAINED

    for observation in result.asset_observations_for_node("trained_model"):
        if NOT_RETRAINED in observation.metadata:
            return observation.metadata[NOT_RETRAINED].value
    return None
