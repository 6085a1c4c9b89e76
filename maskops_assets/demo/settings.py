"""Every setting of the closed-loop demo in one typed place, and what it becomes: the environment of
the processes the demo starts (sensor intervals, thresholds, release policy) and the run configs of
the first training and of every automatic retraining.

Two scales: ``DemoSettings()`` is ``make demo`` (about 10 minutes on two cores after the first
set-up); ``DemoSettings.ci()`` is the CI test's (fewer frames, epochs and images, and gates that
cannot refuse what a tiny model learned, so the test checks the plumbing, not the learning).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from maskops_assets.constants import RETRAIN_JOB


class DemoSettings(BaseModel):
    """Sizes, intervals and thresholds of one demo; every field has the ``make demo`` default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- where state lives (everything under home, so `make ui` shows the story afterwards) ---
    home: Path = Field(
        default=Path("var"), description="MASKOPS_HOME: store, MLflow, DVC, Dagster, Label Studio"
    )
    dagster_port: int = Field(3000, ge=1, le=65535)
    labelstudio_port: int = Field(8080, ge=1, le=65535)
    agent_port: int = Field(9108, ge=1, le=65535)

    # --- v1: trained from scratch on domain A (the labeled_dataset's generated base) ---
    base_images: int = Field(120, ge=10, description="generated domain-A base images")
    imgsz: int = Field(160, ge=32, description="training and inference size (multiple of 32)")
    v1_epochs: int = Field(12, ge=1)
    # batch = nbs: one optimiser step per batch on ~150 images (see bench/README.md, learnability)
    batch: int = Field(8, ge=1)

    # --- v2: fine-tuned from the champion on base plus the reviewed domain-B frames ---
    # ultralytics' optimizer "auto" picks its own learning rate (AdamW, 0.0014 here): no lr0 knob
    v2_epochs: int = Field(10, ge=1)

    # --- the camera: one edge agent, two cameras watching generated domain-B clips ---
    cameras: tuple[str, ...] = Field(("corridor-1", "corridor-2"), min_length=2, description="first = canary")
    clip_frames: int = Field(300, ge=10, description="frames per camera clip (played in a loop)")
    clip_fps: float = Field(10.0, gt=0)
    analyse_fps: float = Field(4.0, gt=0, description="frames the agent analyses per second and camera")
    # a cap below the label threshold's reach after v2: at most one retraining per demo
    samples_per_camera: int = Field(30, ge=1, description="sampler cap per camera (max_per_hour)")
    random_rate: float = Field(
        0.15, ge=0, le=1, description="share of frames kept at random besides uncertain ones"
    )
    model_poll_s: float = Field(5.0, gt=0)
    telemetry_seconds: float = Field(5.0, gt=0)

    # --- the triggers, at demo scale (docs/triggers.md, docs/release.md) ---
    label_threshold: int = Field(40, ge=1, description="MASKOPS_LABEL_THRESHOLD")
    sensor_interval_s: int = Field(5, ge=1, description="MASKOPS_SENSOR_INTERVAL_S")
    canary_watch_interval_s: int = Field(10, ge=1)
    retrain_cooldown_s: int = Field(30, ge=0, description="after each retraining run, v1's included")
    canary_min_frames: int = Field(30, ge=1)
    canary_min_test_samples: int = Field(15, ge=1)
    canary_soak_minutes: float = Field(0.5, ge=0)
    # the detections-per-frame rule keeps its defaults (a rise is measured against max(control mean,
    # 1 detection/frame), so v1 finding almost no face on B does not make v2's detections a fault);
    # the class-mix rule is off (1.0, the largest distance): v1 on B labels the few faces it finds
    # unlike v2, and that difference is the improvement, not a fault. Its detections floor
    # (MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS) does not cover this by construction: how many faces
    # v1 finds on B depends on what it learned and on how many frames the watch has when it judges
    canary_class_mix_shift: float = Field(1.0, gt=0)
    # gates of the retraining run: the real ones in the demo, none in CI (see ci())
    gate_overrides: dict[str, Any] = Field(default_factory=dict)
    min_improvement: float | None = Field(None, description="None: the release policy's default (0.01)")
    canary_tolerances: dict[str, str] = Field(
        default_factory=dict, description="extra MASKOPS_CANARY_* values"
    )

    # --- the final figures: held-out generated sets the models never saw ---
    eval_images: int = Field(60, ge=3, description="images per domain for the v1 vs v2 figures")
    eval_seed: int = 4242
    # --- how long each wait may take before the demo gives up and says where it stopped ---
    # a safety net, not a target: on a shared or slow box training takes many times longer
    stage_timeout_s: float = Field(1800.0, gt=0)

    @classmethod
    def ci(cls, home: Path, **overrides: Any) -> DemoSettings:
        """The CI scale: small and fast, and nothing that depends on what a tiny model learned."""
        values: dict[str, Any] = dict(
            home=home,
            base_images=24,
            imgsz=64,
            v1_epochs=1,
            v2_epochs=1,
            batch=8,
            clip_frames=40,
            analyse_fps=5.0,
            samples_per_camera=5,
            random_rate=1.0,
            label_threshold=6,
            sensor_interval_s=2,
            retrain_cooldown_s=5,
            canary_watch_interval_s=2,
            model_poll_s=2.0,
            telemetry_seconds=2.0,
            eval_images=6,
            gate_overrides={
                "max_map50_drop": 1.0,
                "max_recall_drop": 1.0,
                "min_map50": 0.0,
                "min_class_recall": 0.0,
                "latency_budget_ms": 10000.0,
                "shifted_images": 3,
                "latency_runs": 1,
                "max_variant_drop": 1.0,
            },
            min_improvement=-1.0,
            canary_tolerances={
                "MASKOPS_CANARY_CONFIDENCE_DROP": "1.0",
                "MASKOPS_CANARY_LOW_TAIL_DROP": "1.0",
                "MASKOPS_CANARY_DETECTIONS_DROP": "1.0",
                "MASKOPS_CANARY_DETECTIONS_RISE": "1000",
                "MASKOPS_CANARY_LATENCY_RATIO": "1000",
                "MASKOPS_CANARY_MAX_ERROR_RATE": "1.0",
            },
            canary_min_frames=5,
            canary_min_test_samples=3,
            canary_soak_minutes=0.1,
            stage_timeout_s=900.0,
        )
        values.update(overrides)
        return cls(**values)

    # --- derived paths ---
    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"

    @property
    def store_root(self) -> Path:
        return self.home / "store"

    @property
    def demo_dir(self) -> Path:
        return self.home / "demo"

    @property
    def labelstudio_dir(self) -> Path:
        return self.home / "labelstudio"

    @property
    def dagster_url(self) -> str:
        return f"http://127.0.0.1:{self.dagster_port}"

    @property
    def labelstudio_url(self) -> str:
        return f"http://127.0.0.1:{self.labelstudio_port}"

    @property
    def agent_url(self) -> str:
        return f"http://127.0.0.1:{self.agent_port}"

    def run_url(self, run_id: str) -> str:
        return f"{self.dagster_url}/runs/{run_id}"

    # --- what the settings become ---
    def _train(self, epochs: int, **more: Any) -> dict[str, Any]:
        return {
            "epochs": epochs,
            "imgsz": self.imgsz,
            "batch": self.batch,
            "nbs": self.batch,
            "patience": epochs,
            **more,
        }

    def _evaluation(self) -> dict[str, Any]:
        return (
            {"ops": {"model_evaluation": {"config": dict(self.gate_overrides)}}}
            if self.gate_overrides
            else {}
        )

    def _ops(self, trained_model: dict[str, Any]) -> dict[str, Any]:
        ops: dict[str, Any] = {
            "labeled_dataset": {"config": {"base_images": self.base_images, "base_image_size": self.imgsz}},
            "trained_model": {"config": trained_model},
            "deployment_release": {"config": self._release()},
        }
        ops.update(self._evaluation().get("ops", {}))
        # one process for the whole run: no process start per step (seconds each on two busy cores)
        return {"execution": {"config": {"in_process": {}}}, "ops": ops}

    def _release(self) -> dict[str, Any]:
        config: dict[str, Any] = {"release_policy": "auto", "canary_cameras": [self.cameras[0]]}
        if self.min_improvement is not None:
            config["min_improvement"] = self.min_improvement
        return config

    def first_run_config(self) -> dict[str, Any]:
        """v1: from scratch on the domain-A base (no reviewed labels yet)."""
        return self._ops({"start_from": "scratch", "train": self._train(self.v1_epochs)})

    def retrain_run_config(self) -> dict[str, Any]:
        """Every automatic retraining (MASKOPS_RETRAIN_RUN_CONFIG): fine-tune from the champion."""
        return self._ops(
            {
                "start_from": "champion",
                "train": self._train(self.v2_epochs, warmup_epochs=0.0),
            }
        )

    def environment(self, retrain_config_file: Path) -> dict[str, str]:
        """The variables the Dagster processes run with (docs/triggers.md, docs/release.md)."""
        env = {
            "MASKOPS_HOME": str(self.home),
            "DAGSTER_HOME": str(self.dagster_home),
            "MASKOPS_RELEASE_POLICY": "auto",
            "MASKOPS_SENSOR_INTERVAL_S": str(self.sensor_interval_s),
            "MASKOPS_LABEL_THRESHOLD": str(self.label_threshold),
            # drift alone never starts the demo's retraining: the labels do (the drift sensor still
            # reads each report and says what it saw)
            "MASKOPS_MIN_LABELS_ON_DRIFT": str(10 * self.label_threshold),
            "MASKOPS_RETRAIN_COOLDOWN_S": str(self.retrain_cooldown_s),
            "MASKOPS_RETRAIN_RUN_CONFIG": str(retrain_config_file),
            "MASKOPS_CANARY_WATCH_INTERVAL_S": str(self.canary_watch_interval_s),
            "MASKOPS_CANARY_MIN_FRAMES": str(self.canary_min_frames),
            "MASKOPS_CANARY_MIN_TEST_SAMPLES": str(self.canary_min_test_samples),
            "MASKOPS_CANARY_SOAK_MINUTES": str(self.canary_soak_minutes),
            "MASKOPS_CANARY_WINDOW_MINUTES": "30",
            "MASKOPS_CANARY_CLASS_MIX_SHIFT": str(self.canary_class_mix_shift),
            **self.canary_tolerances,
            "MLFLOW_LOGGING_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
        }
        if self.min_improvement is not None:
            env["MASKOPS_MIN_IMPROVEMENT"] = str(self.min_improvement)
        return env

    def first_run_tags(self) -> dict[str, str]:
        from maskops_assets.constants import TRIGGER_REASON_TAG, TRIGGER_TAG

        return {
            TRIGGER_TAG: "manual",
            TRIGGER_REASON_TAG: "demo: v1 from scratch on domain A",
            "maskops/demo": "v1",
        }


#: The job every stage of the story watches.
JOB = RETRAIN_JOB
