"""Releases in Dagster: ``deployment_release`` (the release policy), the ``release_candidate``,
``promote_canary`` and ``rollback_release`` jobs, and the canary watch.

A thin layer over ``maskops_assets.release`` (policy and the one release workflow) and
``maskops_assets.canary`` (the statistics). ``deployment_release`` decides by the release policy
(``auto`` | ``manual``, run config or ``$MASKOPS_RELEASE_POLICY``): ship the gated candidate as a
canary, park it as ``@challenger`` awaiting a person's approval, or refuse it (below
``min_improvement``); no run waits or fails for the lack of a person. A person approves by launching
``release_candidate`` with ``approved_by``. Every change of the live manifest, whoever made it
(the release, ``promote_canary``, ``rollback_release``), is a materialization of
``deployment_release`` whose metadata describes the live manifest, its shadow included
(``shadow``; for a change also ``shadow_decision`` / ``shadow_reason``: kept, dropped or set, and
why). ``canary_watch_sensor`` judges the live canary from telemetry, records each verdict as a
materialization of ``canary_verdict`` and launches ``rollback_release`` or ``promote_canary``.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import os
from datetime import UTC, datetime
from functools import partial
from typing import Any

import dagster as dg
from pydantic import Field

from maskops_assets.canary.errors import error_counts
from maskops_assets.canary.plot import plot_verdict
from maskops_assets.canary.report import verdict_markdown
from maskops_assets.canary.shadow_evidence import read_shadow_evidence
from maskops_assets.canary.statistics import CanaryVerdict
from maskops_assets.canary.thresholds import CanaryThresholds, ThresholdError
from maskops_assets.canary.watch import WatchCursor, WatchStep, watch_once
from maskops_assets.constants import OWNER, TRIGGER_REASON_TAG, TRIGGER_TAG
from maskops_assets.evaluation.report import ModelEvaluation
from maskops_assets.monitoring.telemetry_window import read_window
from maskops_assets.release.ledger import ReleaseError, ReleaseLedger
from maskops_assets.release.policy import (
    AWAIT_APPROVAL,
    BLOCKED,
    REFUSE,
    PolicyError,
    ReleaseDecision,
    ReleasePolicy,
    decide_release,
)
from maskops_assets.release.workflow import ReleaseOutcome, ReleaseWorkflow
from maskops_assets.resources import MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.training.export import MODEL_ONNX
from maskops_assets.training.quantize import MODEL_INT8
from maskops_contracts import MANIFEST_KEY, ModelRef, ModelVariant, ReleaseManifest, model_key

RELEASE_ASSET = "deployment_release"
CANARY_VERDICT_ASSET = "canary_verdict"
RELEASE_CANDIDATE_JOB = "release_candidate"
PROMOTE_JOB = "promote_canary"
ROLLBACK_JOB = "rollback_release"
JOB_OF_ACTION = {"promote": PROMOTE_JOB, "rollback": ROLLBACK_JOB}
CANARY_TRIGGER = "canary_watch"
#: seconds between two ticks of the canary watch (read when the code location loads)
WATCH_INTERVAL_ENV = "MASKOPS_CANARY_WATCH_INTERVAL_S"

APPROVAL_HOWTO = (
    "{model_version} passed the gate and waits for a person's approval (it is @challenger in MLflow; "
    "the live manifest is unchanged). To approve: in the Dagster UI open Jobs > release_candidate, "
    "'Open launchpad', and set the run config\n"
    '  ops:\n    deployment_release:\n      config:\n        approved_by: "<your name>"\n'
    "then launch. (To ship gated candidates without a person, set MASKOPS_RELEASE_POLICY=auto: a "
    "candidate then ships when it beats the champion by min_improvement.)"
)


class DeploymentReleaseConfig(dg.Config):
    """The release policy for this run, who approved, and how the candidate rolls out."""

    release_policy: str = Field("", description="auto | manual; empty: $MASKOPS_RELEASE_POLICY, else manual")
    min_improvement: float | None = Field(
        None,
        description="auto: test mAP50 the candidate must gain over the champion; "
        "None: $MASKOPS_MIN_IMPROVEMENT, else 0.01",
    )
    approved_by: str = Field(
        "", description="the person approving this release: ships the gated candidate under any policy"
    )
    canary_cameras: list[str] = Field(
        default_factory=list, description="cameras that run the candidate first"
    )
    canary_percentage: float | None = Field(
        10.0,
        ge=0,
        le=100,
        description="share of cameras (by stable hash) in the canary when no list is given",
    )
    promote: bool = Field(False, description="make the candidate the champion at once (no canary)")


@dg.asset(
    group_name="release",
    kinds={"python", "mlflow"},
    owners=[OWNER],
    description=(
        "The release manifest cameras follow, decided by the release policy: auto ships a gated "
        "candidate that beats the champion by min_improvement as canary; manual parks it as "
        "@challenger awaiting approval (launch release_candidate with approved_by). Every change of "
        "the live manifest (release, promote_canary, rollback_release) is a materialization here."
    ),
)
def deployment_release(
    context: dg.AssetExecutionContext,
    config: DeploymentReleaseConfig,
    model_evaluation: ModelEvaluation,
    object_store: ObjectStoreResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    candidate = model_evaluation.candidate
    approved_by = config.approved_by.strip()
    if context.job_name == RELEASE_CANDIDATE_JOB and not approved_by:
        raise dg.Failure(
            description="release_candidate ships a candidate on a person's word: set approved_by.\n"
            + APPROVAL_HOWTO.format(model_version=candidate.model_version),
            allow_retries=False,
        )
    try:
        policy = ReleasePolicy.resolve(config.release_policy, config.min_improvement)
    except PolicyError as err:
        raise dg.Failure(str(err), allow_retries=False) from err
    # The blocking checks stop this asset within a run; a later run that selects only this asset
    # loads a stored evaluation without them, so the gate is read again by decide_release.
    decision = decide_release(model_evaluation, policy, approved_by)
    if decision.action == BLOCKED:
        raise dg.Failure(
            description=f"{candidate.model_version} {decision.reason}. It will not ship: train a better "
            "candidate, or relax model_evaluation's tolerances and re-evaluate.",
            allow_retries=False,
        )
    workflow = ReleaseWorkflow(ReleaseLedger(object_store.open()), mlflow.registry())
    lineage = {
        "model_version": candidate.model_version,
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(candidate.mlflow_run_id)),
        "dataset_version": candidate.dataset_version,
        "sample_batches": dg.MetadataValue.json(list(candidate.sample_batches)),
        **_decision_metadata(decision),
    }
    try:
        if decision.action in (AWAIT_APPROVAL, REFUSE):
            return _not_shipped(context, workflow, model_evaluation, decision, lineage)
        outcome = workflow.release(
            _model_ref(model_evaluation),
            mlflow_run_id=candidate.mlflow_run_id,
            approved_by=approved_by,
            canary_cameras=tuple(config.canary_cameras),
            canary_percentage=config.canary_percentage,
            promote=config.promote,
        )
    except ReleaseError as err:
        raise dg.Failure(str(err), allow_retries=False) from err
    context.log.info(
        f"release {outcome.manifest.release_id}: {candidate.model_version} ships as {outcome.role} "
        f"({decision.reason})"
    )
    return dg.MaterializeResult(
        value=outcome.manifest,
        metadata={
            **_outcome_metadata(outcome),
            **lineage,
            "release_state": f"{candidate.model_version} live as {outcome.role}",
            "role": outcome.role,
            "approved_by": approved_by or f"(release_policy {policy.policy})",
        },
    )


def _not_shipped(
    context: dg.AssetExecutionContext,
    workflow: ReleaseWorkflow,
    evaluation: ModelEvaluation,
    decision: ReleaseDecision,
    lineage: dict[str, Any],
) -> dg.MaterializeResult:
    """Awaiting approval (``@challenger`` set) or refused: the live manifest stays, and says so."""
    candidate = evaluation.candidate
    metadata: dict[str, Any] = {**lineage, "role": "none"}
    if decision.action == AWAIT_APPROVAL:
        parked = workflow.await_approval(
            model_version=candidate.model_version,
            registered_version=candidate.registered_version,
            mlflow_run_id=candidate.mlflow_run_id,
        )
        howto = APPROVAL_HOWTO.format(model_version=candidate.model_version)
        context.log.warning(howto)
        live = parked.live
        metadata.update(
            release_state=f"awaiting approval: {candidate.model_version} is @challenger",
            approve=dg.MetadataValue.md(_markdown_howto(howto)),
            challenger_alias_version=parked.registered_version,
        )
    else:
        live = workflow.ledger.current()
        context.log.info(f"{candidate.model_version} not released: {decision.reason}")
        metadata["release_state"] = f"refused: {candidate.model_version} stays unreleased"
    metadata.update(_live_metadata(live))
    return dg.MaterializeResult(value=live, metadata=metadata)


def _markdown_howto(howto: str) -> str:
    text, config = howto.split("\n", 1)
    rest = ""
    if "\nthen launch." in config:
        config, rest = config.split("\nthen launch.", 1)
        rest = "then launch." + rest
    return f"{text}\n\n```yaml\n{config}\n```\n\n{rest}"


def _model_ref(evaluation: ModelEvaluation) -> ModelRef:
    candidate = evaluation.candidate
    uri = model_key(candidate.model_version, MODEL_ONNX)
    return ModelRef(
        model_version=candidate.model_version,
        uri=uri,
        sha256=candidate.onnx_sha256,
        imgsz=candidate.imgsz,
        class_names=candidate.class_names,
        # a camera runs only a runtime and precision the gate measured for this model
        # (an int8 variant runs its own quantized file, published beside model.onnx)
        variants=tuple(
            ModelVariant(
                precision=v.precision,
                runtime=v.runtime,
                uri=model_key(candidate.model_version, MODEL_INT8) if v.sha256 else uri,
                sha256=v.sha256 or candidate.onnx_sha256,
                map50=v.map50,
                map50_95=v.map50_95,
            )
            for v in evaluation.variants
            if v.ships
        ),
    )


def _decision_metadata(decision: ReleaseDecision) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "decision": decision.action,
        "decision_reason": decision.reason,
        "release_policy": decision.policy,
        "min_improvement": decision.min_improvement,
        "candidate_test_map50": decision.candidate_map50,
    }
    if decision.champion_map50 is not None:
        metadata["champion_test_map50"] = decision.champion_map50
        metadata["improvement"] = decision.improvement
    return metadata


def _live_metadata(live: ReleaseManifest | None) -> dict[str, Any]:
    if live is None:
        return {
            "release_id": "none",
            "champion": "none",
            "canary": "none",
            "shadow": "none",
            "manifest_key": MANIFEST_KEY,
        }
    return {
        "release_id": live.release_id,
        "previous_release_id": live.previous_release_id or "none",
        "champion": live.champion.model_version,
        "canary": live.canary.model_version if live.canary else "none",
        "shadow": live.shadow.model_version if live.shadow else "none",
        "manifest_key": MANIFEST_KEY,
        "manifest": dg.MetadataValue.json(live.to_dict()),
    }


def _outcome_metadata(outcome: ReleaseOutcome) -> dict[str, Any]:
    plain = outcome.metadata()
    plain["manifest"] = dg.MetadataValue.json(plain["manifest"])
    return plain


def _record_change(context: dg.OpExecutionContext, outcome: ReleaseOutcome, state: str) -> None:
    """The live manifest changed outside the asset: record it as a materialization of the asset."""
    tags = context.run.tags
    context.log_event(
        dg.AssetMaterialization(
            asset_key=RELEASE_ASSET,
            description=state,
            metadata={
                **_outcome_metadata(outcome),
                "release_state": state,
                "role": outcome.role,
                "triggered_by": tags.get(TRIGGER_TAG, "a person (launched by hand)"),
                "trigger_reason": tags.get(TRIGGER_REASON_TAG, "-"),
            },
        )
    )


@dg.op(description="Make the live canary the champion of every camera and move @champion to it.")
def promote_canary_op(
    context: dg.OpExecutionContext, object_store: ObjectStoreResource, mlflow: MlflowResource
) -> str:
    workflow = ReleaseWorkflow(ReleaseLedger(object_store.open()), mlflow.registry())
    try:
        outcome = workflow.promote(reason=context.run.tags.get(TRIGGER_REASON_TAG, ""))
    except ReleaseError as err:
        raise dg.Failure(str(err), allow_retries=False) from err
    champion = outcome.manifest.champion.model_version
    _record_change(context, outcome, f"{champion} promoted to champion")
    context.log.info(f"promoted {champion} to champion in release {outcome.manifest.release_id}")
    return outcome.manifest.release_id


@dg.op(
    description="Restore the release before the live one: the manifest and the MLflow aliases, in one step."
)
def rollback_release_op(
    context: dg.OpExecutionContext, object_store: ObjectStoreResource, mlflow: MlflowResource
) -> str:
    workflow = ReleaseWorkflow(ReleaseLedger(object_store.open()), mlflow.registry())
    try:
        outcome = workflow.rollback(reason=context.run.tags.get(TRIGGER_REASON_TAG, ""))
    except ReleaseError as err:
        raise dg.Failure(str(err), allow_retries=False) from err
    restored, withdrawn = outcome.manifest.release_id, outcome.replaced.release_id
    _record_change(context, outcome, f"rolled back from {withdrawn} to {restored}")
    context.log.info(f"rolled back from {withdrawn} to {restored}")
    return restored


@dg.job(
    name=PROMOTE_JOB,
    description="Promote the live canary to champion (manifest + @champion alias); recorded on "
    "deployment_release.",
    tags={"maskops": "release"},
)
def promote_canary():
    promote_canary_op()


@dg.job(
    name=ROLLBACK_JOB,
    description="Roll back to the previous release (manifest + aliases) in one step; recorded on "
    "deployment_release.",
    tags={"maskops": "release"},
)
def rollback_release():
    rollback_release_op()


release_candidate = dg.define_asset_job(
    RELEASE_CANDIDATE_JOB,
    selection=dg.AssetSelection.assets(RELEASE_ASSET),
    description="A person's approval: ship the latest gated candidate (model_evaluation's last "
    "result) as canary. Set ops.deployment_release.config.approved_by in the launchpad.",
    tags={"maskops": "release"},
)


# --- canary watch ------------------------------------------------------------------------------

canary_verdict = dg.AssetSpec(
    CANARY_VERDICT_ASSET,
    group_name="release",
    kinds={"python"},
    owners=[OWNER],
    description="Each verdict of canary_watch_sensor on the live canary (canary vs control cameras' "
    "telemetry: tests, p-values, a picture of both distributions) and what it asked for: keep "
    "watching, promote_canary or rollback_release. Recorded by the sensor, not materialized by a run.",
)


def _watch_interval() -> int:
    raw = os.environ.get(WATCH_INTERVAL_ENV, "")
    try:
        return max(30, int(raw)) if raw else 300
    except ValueError:
        raise ValueError(f"${WATCH_INTERVAL_ENV} must be a whole number of seconds, got {raw!r}") from None


@dg.sensor(
    name="canary_watch_sensor",
    jobs=[promote_canary, rollback_release],
    minimum_interval_seconds=_watch_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Compares the live canary's cameras with the control cameras over the same window "
    "(Mann-Whitney U, chi-square, latency p99, error rate; minimum sample per group); rolls back a "
    "degraded canary and promotes one healthy for the soak period. Each verdict is a "
    "materialization of canary_verdict, with the shadow comparisons of the canary's model as "
    "evidence that judges nothing. Settings: MASKOPS_CANARY_* variables.",
)
def canary_watch_sensor(
    context: dg.SensorEvaluationContext,
    object_store: ObjectStoreResource,
    mlflow: MlflowResource,
    work_dir: WorkDirResource,
) -> dg.SensorResult:
    try:
        thresholds = CanaryThresholds.from_env()
    except ThresholdError as err:
        return dg.SensorResult(skip_reason=f"canary watch not configured correctly: {err}")
    store = object_store.open()
    cursor = WatchCursor.from_json(context.cursor)
    step = watch_once(
        ReleaseLedger(store).current(),
        cursor,
        lambda since, until: read_window(store, since, until).rows,
        thresholds,
        read_errors=lambda manifest: error_counts(store, manifest),
        read_shadow=partial(read_shadow_evidence, store),
    )
    events = []
    if step.record and step.verdict is not None:
        events.append(_verdict_event(context, step, mlflow, work_dir))
    if step.action is None:
        return dg.SensorResult(
            skip_reason=step.skip_reason, asset_events=events, cursor=step.cursor.to_json()
        )
    verdict = step.verdict
    job = JOB_OF_ACTION[step.action]
    request = dg.RunRequest(
        run_key=f"{job}:{verdict.release_id}",
        job_name=job,
        tags={
            TRIGGER_TAG: CANARY_TRIGGER,
            TRIGGER_REASON_TAG: verdict.summary[:1000],
            "maskops/canary_release_id": verdict.release_id,
            "maskops/canary_frames": str(verdict.canary_frames),
            "maskops/control_frames": str(verdict.control_frames),
            **{
                f"maskops/canary_{c.signal}_p": f"{c.p_value:.3g}"
                for c in verdict.comparisons
                if c.p_value is not None
            },
        },
    )
    context.log.info(f"canary {verdict.canary_model}: {verdict.status}; requesting {job}")
    return dg.SensorResult(run_requests=[request], asset_events=events, cursor=step.cursor.to_json())


def _verdict_event(
    context: dg.SensorEvaluationContext, step: WatchStep, mlflow: MlflowResource, work_dir: WorkDirResource
) -> dg.AssetMaterialization:
    verdict: CanaryVerdict = step.verdict
    metadata: dict[str, Any] = {
        k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
        for k, v in verdict.metadata().items()
    }
    metadata["requested"] = JOB_OF_ACTION.get(verdict.action or "", "nothing (keep watching)")
    metadata["report"] = dg.MetadataValue.md(verdict_markdown(verdict))
    metadata.update(_verdict_picture(context, step, mlflow, work_dir))
    return dg.AssetMaterialization(
        asset_key=CANARY_VERDICT_ASSET, description=verdict.summary[:2000], metadata=metadata
    )


def _verdict_picture(
    context: dg.SensorEvaluationContext, step: WatchStep, mlflow: MlflowResource, work_dir: WorkDirResource
) -> dict[str, Any]:
    """The PNG beside the other reports, and as an artifact of the canary model's MLflow run."""
    verdict = step.verdict
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{verdict.status}-{stamp}.png"
    path = work_dir.path("canary", verdict.release_id, name)
    canary, control = step.groups
    plot_verdict(verdict, canary, control, path)
    out: dict[str, Any] = {"picture_file": dg.MetadataValue.path(str(path))}
    try:
        registry = mlflow.registry()
        found = registry.find_by_model_version(verdict.canary_model)
        if found is not None and found.run_id:
            registry.log_artifact(found.run_id, path, "canary")
            out["picture"] = dg.MetadataValue.url(mlflow.artifact_url(found.run_id, f"canary/{name}"))
    except Exception as err:  # the verdict counts more than its picture's link
        context.log.warning(f"canary picture not logged to MLflow ({err}); it is at {path}")
    return out


# Dagster's defs-folder loader finds these itself; the lists are for tests that build their own
# Definitions from this module.
ASSETS = [deployment_release]
JOBS = [promote_canary, rollback_release]
ASSET_JOBS = [release_candidate]  # needs deployment_release (and its model_evaluation) in the Definitions
SENSORS = [canary_watch_sensor]
