"""The demo's one typed place of settings: its run configs are valid run configs of the real job,
its environment parses with the platform's own readers, and the knobs they set exist."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from maskops_assets.canary.thresholds import CanaryThresholds
from maskops_assets.constants import RETRAIN_JOB
from maskops_assets.definitions import build_definitions
from maskops_assets.defs.training import START_FROM_ENV, resolve_start_from
from maskops_assets.defs.triggers import RUN_CONFIG_ENV, retrain_run_config
from maskops_assets.demo.settings import DemoSettings
from maskops_assets.release.policy import ReleasePolicy
from maskops_assets.triggers.policy import RetrainPolicy

SCALES = {"demo": DemoSettings(), "ci": DemoSettings.ci(Path("/tmp/x"))}


@pytest.fixture(scope="module")
def retrain_job():
    # Loading definitions reads the current instance's defs-state storage: under an instance of its
    # own the load cannot meet one an earlier test left behind and disposed (a test-order failure).
    with dg.instance_for_test():
        return build_definitions().resolve_job_def(RETRAIN_JOB)


@pytest.mark.parametrize("scale", SCALES)
def test_run_configs_are_valid_for_the_retraining_job(retrain_job, scale: str) -> None:
    settings = SCALES[scale]
    for run_config in (settings.first_run_config(), settings.retrain_run_config()):
        assert dg.validate_run_config(retrain_job, run_config)
    retrain = settings.retrain_run_config()["ops"]
    assert retrain["trained_model"]["config"]["start_from"] == "champion"
    assert retrain["deployment_release"]["config"]["release_policy"] == "auto"
    assert retrain["deployment_release"]["config"]["canary_cameras"] == [settings.cameras[0]]


@pytest.mark.parametrize("scale", SCALES)
def test_environment_parses_with_the_platforms_readers(tmp_path: Path, scale: str) -> None:
    settings = SCALES[scale]
    env = settings.environment(tmp_path / "retrain.yaml")
    policy = RetrainPolicy.from_env(env)
    assert policy.label_threshold == settings.label_threshold
    assert policy.cooldown_s == settings.retrain_cooldown_s
    thresholds = CanaryThresholds.from_env(env)
    assert thresholds.min_frames == settings.canary_min_frames
    assert thresholds.soak_minutes == settings.canary_soak_minutes
    if scale == "demo":  # the platform's floored detections rule, not a tolerance that turns it off
        defaults = CanaryThresholds()
        assert (thresholds.detections_drop, thresholds.detections_rise, thresholds.detections_floor) == (
            defaults.detections_drop,
            defaults.detections_rise,
            defaults.detections_floor,
        )
    else:  # the CI scale accepts any change of detections a tiny model makes
        assert thresholds.detections_drop >= 1.0 and thresholds.detections_rise >= 1000
    assert ReleasePolicy.resolve(environ=env).policy == "auto"
    assert env["DAGSTER_HOME"] == str(settings.dagster_home)


def test_ci_scale_is_smaller_and_cannot_refuse_what_a_tiny_model_learned() -> None:
    demo, ci = SCALES["demo"], SCALES["ci"]
    assert ci.base_images < demo.base_images and ci.v1_epochs < demo.v1_epochs
    assert ci.clip_frames < demo.clip_frames and ci.label_threshold < demo.label_threshold
    assert ci.min_improvement is not None and ci.min_improvement < -0.99  # any mAP50 gain ships
    gates = ci.retrain_run_config()["ops"]["model_evaluation"]["config"]
    assert gates["max_map50_drop"] == 1.0 and gates["min_map50"] == 0.0
    assert "model_evaluation" not in demo.retrain_run_config()["ops"]  # the demo keeps the real gate


def test_sensors_pass_the_retrain_run_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RUN_CONFIG_ENV, raising=False)
    assert retrain_run_config() == {}
    path = tmp_path / "retrain.yaml"
    path.write_text(yaml.safe_dump(DemoSettings().retrain_run_config()))
    monkeypatch.setenv(RUN_CONFIG_ENV, str(path))
    assert retrain_run_config() == DemoSettings().retrain_run_config()
    path.write_text("- not a mapping\n")
    with pytest.raises(ValueError, match=f"{RUN_CONFIG_ENV}=.*mapping"):
        retrain_run_config()
    monkeypatch.setenv(RUN_CONFIG_ENV, str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError, match="cannot read"):
        retrain_run_config()


def test_start_from_comes_from_config_then_environment() -> None:
    assert resolve_start_from("", {}) == "scratch"
    assert resolve_start_from("", {START_FROM_ENV: "champion"}) == "champion"
    assert resolve_start_from("scratch", {START_FROM_ENV: "champion"}) == "scratch"
    with pytest.raises(dg.Failure, match=START_FROM_ENV):
        resolve_start_from("", {START_FROM_ENV: "yesterday"})
