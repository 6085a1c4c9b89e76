"""The main job on embedded defaults: ``python -m maskops_assets.demo``.

Seeds the local object store with sample records from a synthetic *shifted* camera clip, lets the
ingest sensor batch them, has a stand-in reviewer label them (the clip's ground truth), and then
materializes the whole graph with a real Dagster instance under ``$MASKOPS_HOME/dagster_home``:
reviewed labels -> labeled dataset (DVC) -> trained model (MLflow) -> evaluation (gates) -> release.
Prints progress, the total minutes, and where to look afterwards.

A second demo finds no new samples, so the dataset version is unchanged: ``trained_model`` then does
not retrain (the latest registered model was trained on exactly that version), evaluation and release
are skipped, and the demo says so.

The console stays readable: Dagster logs at INFO (no DEBUG event lines), ultralytics prints nothing
of its own (training reports one line per epoch through Dagster's logger), and MLflow only warnings.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskops_assets.resources import REPO_ROOT, maskops_home


@dataclass(frozen=True)
class DemoSettings:
    """Sizes chosen so the demo finishes in a few minutes on two CPU cores."""

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
# (It colours only when its stream is a terminal.)
CONSOLE_AT_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _say(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


class _SkippedGateNotice(logging.Filter):
    """Drops Dagster's "Blocking asset check ... emitted no result ...; downstream step
    'deployment_release' will proceed without gating on it" warnings.

    In this graph the gate checks yield a result whenever they run; they emit none only when they
    were skipped with ``model_evaluation`` because nothing was retrained, and ``deployment_release``
    is then skipped as well, so the warning says the opposite of what happens (the demo says why).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "emitted no result" not in record.getMessage()


def quiet_libraries() -> None:
    """Before anything imports them: MLflow logs warnings only (not its "Creating initial MLflow
    database tables" lines) and ultralytics stays quiet from its first import on."""
    from maskops_assets.training.ultralytics_env import quiet_on_import

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    quiet_on_import()
    gate_notices = logging.getLogger("dagster._core.execution.plan.active")
    if not any(isinstance(f, _SkippedGateNotice) for f in gate_notices.filters):
        gate_notices.addFilter(_SkippedGateNotice())


def prepare_dagster_home(home: Path) -> Path:
    """``$DAGSTER_HOME`` (default ``<home>/dagster_home``) with the repo's dagster.yaml in it."""
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster_home")
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home


def main_run_config(review_dir: Path, settings: DemoSettings) -> dict[str, Any]:
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
            "deployment_release": {"config": {"approved_by": settings.approved_by}},
        },
    }


def ingest(defs, instance, store, work: Path, settings: DemoSettings) -> list:
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
    # No cursor: the ledger in the store is what keeps an earlier demo's samples from coming back.
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
        _say("no new samples (already ingested by an earlier demo run)")
    return samples


def not_retrained(result) -> str | None:
    """Why ``trained_model`` did not train in ``result`` (its observation's message), or None."""
    from maskops_assets.defs.training import NOT_RETRAINED

    for observation in result.asset_observations_for_node("trained_model"):
        if NOT_RETRAINED in observation.metadata:
            return observation.metadata[NOT_RETRAINED].value
    return None


def run(settings: DemoSettings) -> int:
    quiet_libraries()
    started = time.monotonic()
    home = maskops_home()
    home.mkdir(parents=True, exist_ok=True)
    dagster_home = prepare_dagster_home(home)
    _say(f"MASKOPS_HOME={home}  DAGSTER_HOME={dagster_home}")

    import dagster as dg

    from maskops_assets.definitions import build_definitions
    from maskops_assets.ingest.seeding import write_review_export

    defs = build_definitions()
    resources = defs.resources
    store = resources["object_store"].open()
    work = resources["work_dir"].dir("demo")
    instance = dg.DagsterInstance.get()

    samples = ingest(defs, instance, store, work, settings)
    review_dir = work / "review_export"
    if review_dir.exists():
        shutil.rmtree(review_dir)
    write_review_export(samples, review_dir)
    _say(f"reviewer labelled {len(samples)} frames -> {review_dir}")

    _say(
        "materializing the graph: reviewed_labels -> labeled_dataset -> trained_model -> model_evaluation "
        "-> deployment_release (training takes most of the time)"
    )
    result = defs.resolve_job_def("maskops_main").execute_in_process(
        run_config=main_run_config(review_dir, settings), instance=instance, raise_on_error=False
    )
    minutes = (time.monotonic() - started) / 60
    mlflow = resources["mlflow"]
    manifest = store.describe() + "/releases/manifest.json"
    if not result.success:
        failed = [e.step_key for e in result.get_step_failure_events()]
        _say(f"FAILED at {failed} after {minutes:.1f} min; see the run {result.run_id} in the Dagster UI")
        return 1
    for event in result.get_asset_check_evaluations():
        _say(f"check {event.asset_key.to_user_string()}:{event.check_name} passed={event.passed}")
    dataset = result.output_for_node("labeled_dataset")
    _say(f"dataset {dataset.version} ({dataset.total_boxes} boxes, {dataset.new_labels} new labels)")
    why = not_retrained(result)
    if why is not None:
        _say(f"nothing was retrained: {why}")
        _say(f"no new model, no new release: the live manifest is unchanged ({manifest})")
    outcome = "finished (no new data, nothing retrained)" if why is not None else "finished"
    print(
        f"\nmaskops demo {outcome} in {minutes:.1f} min (Dagster run {result.run_id})\n"
        f"  Dagster UI : scripts/dagster-dev.sh  -> http://127.0.0.1:3000 (DAGSTER_HOME={dagster_home})\n"
        f"  MLflow     : .venv/bin/mlflow ui --backend-store-uri {mlflow.resolved_tracking_uri()} "
        f"-> {mlflow.ui_base()}\n"
        f"  manifest   : {manifest}\n"
        f"  datasets   : {resources['dataset_repo'].open().root} (git tags dataset-vN, DVC remote beside it)",
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maskops_assets.demo", description=__doc__.split("\n")[0])
    defaults = DemoSettings()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--imgsz", type=int, default=defaults.imgsz)
    parser.add_argument("--base-images", type=int, default=defaults.base_images)
    parser.add_argument("--clip-frames", type=int, default=defaults.clip_frames)
    parser.add_argument(
        "--force-retrain",
        action="store_true",
        help="train a new model even when the dataset version is unchanged (a second demo otherwise skips "
        "training, evaluation and release)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = DemoSettings(
        clip_frames=args.clip_frames,
        base_images=args.base_images,
        imgsz=args.imgsz,
        epochs=args.epochs,
        force_retrain=args.force_retrain,
    )
    try:
        return run(settings)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
