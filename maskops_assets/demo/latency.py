"""How long the loop takes, from the Nth label landing to the new model serving on the agent, split
into stages, from what was recorded: the Dagster instance's run and step event times, and the
agent's own JSON log (``model_swapped``). Used by bench/loop_latency.py after a demo."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg

from maskops_assets.demo.watch import run_times, runs, step_times

#: Where the demo writes what the latency split needs (beside its logs).
TIMELINE = "timeline.json"


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    training: bool = False


def swap_time(agent_log: Path, camera_id: str, model_version: str) -> float | None:
    """Epoch seconds of the agent's ``model_swapped`` event of ``camera_id`` to ``model_version``."""
    for line in agent_log.read_text(errors="replace").splitlines():
        if '"model_swapped"' not in line:
            continue
        event = json.loads(line)
        if event.get("camera_id") == camera_id and event.get("model_version") == model_version:
            return datetime.fromisoformat(event["ts"]).timestamp()
    return None


def _end(spans: dict[str, tuple[float, float]], prefix: str) -> float:
    ends = [end for step, (_, end) in spans.items() if step == prefix or step.startswith(prefix + "_")]
    if not ends:
        raise ValueError(f"no finished step {prefix!r} in the run")
    return max(ends)


def landed_at(instance: dg.DagsterInstance, retrain_run: str) -> float:
    """When the Nth label landed in the store: the end of the last ``reviewed_labels`` pull run
    created before the label threshold sensor created the retraining run; when the sensor saw the
    stored labels before that run had even ended, the retraining's creation (detection then reads 0)."""
    created = run_times(instance, retrain_run)["created"]
    pulls = [
        run_times(instance, run.run_id)
        for run in runs(instance, tags={"maskops/review_sync": "pull"})
        if run.status == dg.DagsterRunStatus.SUCCESS
    ]
    before = [times for times in pulls if times["created"] <= created]
    if not before:
        raise ValueError(f"no reviewed_labels pull run was created before the retraining run {retrain_run}")
    return min(max(times["ended"] for times in before), created)


def split(instance: dg.DagsterInstance, timeline: dict, agent_log: Path) -> list[Stage]:
    """The stages from the Nth label landing in the store to the canary camera's swap to v2."""
    retrain_id = timeline["retrain_run"]
    landed = landed_at(instance, retrain_id)
    retrain = run_times(instance, retrain_id)
    spans = step_times(instance, retrain_id)
    swapped = swap_time(agent_log, timeline["canary_camera"], timeline["v2"])
    if swapped is None:
        raise ValueError(
            f"no model_swapped to {timeline['v2']} on {timeline['canary_camera']} in {agent_log}"
        )
    marks = [
        ("sensor detection (label_threshold_sensor tick)", retrain["created"]),
        ("run start (queue, launch, run worker, first step)", min(start for start, _ in spans.values())),
        ("dataset version (reviewed_labels + labeled_dataset: DVC)", _end(spans, "labeled_dataset")),
        ("training (trained_model: fine-tune, MLflow, ONNX export)", _end(spans, "trained_model")),
        ("evaluation (model_evaluation + gate checks)", _end(spans, "model_evaluation")),
        ("release (deployment_release: manifest, aliases)", _end(spans, "deployment_release")),
        ("agent poll + download + warm-up + swap", swapped),
    ]
    stages, previous = [], landed
    for name, at in marks:
        stages.append(Stage(name, max(0.0, at - previous), training=name.startswith("training")))
        previous = max(previous, at)
    return stages


def table(stages: list[Stage]) -> str:
    total = sum(s.seconds for s in stages)
    rest = sum(s.seconds for s in stages if not s.training)
    widest = max(stages, key=lambda s: s.seconds)
    widest_rest = max((s for s in stages if not s.training), key=lambda s: s.seconds)
    lines = [f"{'stage':<60} {'seconds':>8} {'share':>6}"]
    lines += [f"{s.name:<60} {s.seconds:8.1f} {s.seconds / total:6.0%}" for s in stages]
    lines += [
        f"{'total: Nth label landing -> new model serving on the agent':<60} {total:8.1f}",
        f"{'everything but training (target < 60 s)':<60} {rest:8.1f}  {'MET' if rest < 60 else 'MISSED'}",
        f"dominant stage: {widest.name} ({widest.seconds:.1f} s); "
        f"dominant outside training: {widest_rest.name} ({widest_rest.seconds:.1f} s)",
    ]
    return "\n".join(lines)
