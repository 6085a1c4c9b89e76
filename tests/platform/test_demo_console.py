"""The demo's console: Dagster's INFO lines, never its DEBUG event lines, and no escape codes when
the output is not a terminal (``capfd`` reads pipes, not terminals)."""

from pathlib import Path

import dagster as dg

from maskops_assets.definitions import build_definitions
from maskops_assets.demo import CONSOLE_AT_INFO, DemoSettings, ingest, main_run_config
from maskops_assets.store import LocalObjectStore


def test_demo_ingest_prints_no_dagster_debug_lines(
    tmp_path: Path, dagster_instance: dg.DagsterInstance, data_resources, capfd
) -> None:
    home = tmp_path / "home"
    defs = build_definitions(data_resources(home))
    settings = DemoSettings(clip_frames=8, keep_every=2, imgsz=64)
    capfd.readouterr()
    samples = ingest(defs, dagster_instance, LocalObjectStore(home / "store"), tmp_path / "camera", settings)
    out, err = capfd.readouterr()
    assert len(samples) == 4
    assert "collecting ingest batch" in out
    assert " - INFO - ingest_job - " in err  # the step's own progress lines stay
    assert " - DEBUG - " not in out + err  # no RUN_START/STEP_OUTPUT/HANDLED_OUTPUT event lines
    assert "\x1b[" not in out + err


def test_main_job_logs_at_info_too(tmp_path: Path) -> None:
    config = main_run_config(tmp_path / "review", DemoSettings())
    assert config["loggers"] == CONSOLE_AT_INFO["loggers"]
    assert config["ops"]["trained_model"]["config"]["force"] is False
    assert main_run_config(tmp_path, DemoSettings(force_retrain=True))["ops"]["trained_model"]["config"][
        "force"
    ]


def test_skipped_gate_notice_is_not_printed(caplog) -> None:
    """When nothing is retrained the gate checks are skipped with model_evaluation, and so is the
    release: Dagster's "will proceed without gating" warning would say the opposite."""
    import logging

    from maskops_assets.demo import quiet_libraries

    quiet_libraries()
    logger = logging.getLogger("dagster._core.execution.plan.active")
    with caplog.at_level(logging.WARNING):
        logger.warning(
            "Blocking asset check 'model_evaluation:map50_gate' emitted no result in step "
            "'model_evaluation_map50_gate'; downstream step 'deployment_release' will proceed "
            "without gating on it."
        )
        logger.warning("another warning")
    assert [r.getMessage() for r in caplog.records] == ["another warning"]
