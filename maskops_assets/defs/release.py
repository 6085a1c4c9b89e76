"""Releases in Dagster: ``deployment_release`` (approval, canary-first manifest, aliases), plus the
``promote_canary`` and ``rollback_release`` jobs.

``deployment_release`` runs only after the gate (the blocking checks of ``model_evaluation``) passed
in the same run. With ``require_approval`` it ships nothing until a person launches it with
``approved_by`` set. It writes ``releases/manifest.json`` with the candidate as canary beside the
current champion (or as champion on the first release or with ``promote``), keeps every manifest
under ``releases/history/`` and moves the MLflow aliases to match the manifest.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.evaluation.report import ModelEvaluation, gate_verdicts
from maskops_assets.release.aliases import sync_aliases
from maskops_assets.release.ledger import (
    ReleaseError,
    ReleaseLedger,
    new_release_id,
    plan_promotion,
    plan_release,
    plan_rollback,
)
from maskops_assets.resources import MlflowResource, ObjectStoreResource
from maskops_assets.tracking.registry import ModelRegistry, RegistryError
from maskops_assets.training.export import MODEL_ONNX
from maskops_contracts import MANIFEST_KEY, ModelRef, ModelVariant, ReleaseManifest, model_key

APPROVAL_HOWTO = (
    "deployment_release needs a person's approval before it ships {model_version}. To approve: open the "
    "Dagster UI, select the asset deployment_release (group 'release'), choose 'Materialize' with the "
    "launchpad (shift-click), and set the run config\n"
    '  ops:\n    deployment_release:\n      config:\n        approved_by: "<your name>"\n'
    "Nothing was released and the live manifest is unchanged. (To release without approval, set "
    "require_approval: false.)"
)


class DeploymentReleaseConfig(dg.Config):
    """Who approved, and how the candidate rolls out."""

    require_approval: bool = Field(True, description="ship only when approved_by names a person")
    approved_by: str = Field(
        "", description="the person approving this release (shown in the manifest's run)"
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
        "The release manifest cameras follow: the gated candidate as canary next to the champion "
        "(champion at once on the first release or with promote), after approval when required; "
        "moves MLflow @challenger/@champion and keeps the previous release for rollback."
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
    if config.require_approval and not config.approved_by.strip():
        raise dg.Failure(
            description=APPROVAL_HOWTO.format(model_version=candidate.model_version),
            metadata={"model_version": candidate.model_version},
            allow_retries=False,
        )
    # The blocking checks stop this asset within a run; a later run that selects only this asset would
    # load a stored evaluation without them, so the gate is read again here.
    failed = [v.message for v in gate_verdicts(model_evaluation).values() if not v.passed]
    if failed:
        raise dg.Failure(
            description=f"{candidate.model_version} did not pass the release gate and will not ship: "
            + "; ".join(failed)
            + ". Train a better candidate, or relax model_evaluation's tolerances and re-evaluate.",
            allow_retries=False,
        )
    ledger = ReleaseLedger(object_store.open())
    current = ledger.current()
    uri = model_key(candidate.model_version, MODEL_ONNX)
    ref = ModelRef(
        model_version=candidate.model_version,
        uri=uri,
        sha256=candidate.onnx_sha256,
        imgsz=candidate.imgsz,
        class_names=candidate.class_names,
        # a camera runs only a runtime and precision the gate measured for this model
        variants=tuple(
            ModelVariant(
                precision=v.precision,
                runtime=v.runtime,
                uri=uri,
                sha256=candidate.onnx_sha256,
                map50=v.map50,
                map50_95=v.map50_95,
            )
            for v in model_evaluation.variants
            if v.ships
        ),
    )
    try:
        manifest = plan_release(
            current,
            ref,
            release_id=new_release_id(),
            canary_cameras=tuple(config.canary_cameras),
            canary_percentage=None if config.canary_cameras else config.canary_percentage,
            promote=config.promote,
        )
    except ReleaseError as err:
        raise dg.Failure(str(err)) from err
    registry = mlflow.registry()
    ledger.publish(manifest)
    aliases = _sync(registry, manifest)
    role = "canary" if manifest.canary is not None else "champion"
    # the release id on the MLflow run closes the lineage loop from the model's side
    registry.set_tags(
        candidate.mlflow_run_id,
        {"maskops.release_id": manifest.release_id, "maskops.approved_by": config.approved_by or "-"},
    )
    context.log.info(f"release {manifest.release_id}: {candidate.model_version} ships as {role}")
    return dg.MaterializeResult(
        value=manifest,
        metadata={
            **_manifest_metadata(manifest),
            "role": role,
            "approved_by": config.approved_by or "(approval not required)",
            "model_version": candidate.model_version,
            "mlflow_run": dg.MetadataValue.url(mlflow.run_url(candidate.mlflow_run_id)),
            "dataset_version": candidate.dataset_version,
            "sample_batches": dg.MetadataValue.json(list(candidate.sample_batches)),
            "champion_alias_version": aliases.champion,
            "challenger_alias_version": aliases.challenger or "none",
        },
    )


def _sync(registry: ModelRegistry, manifest: ReleaseManifest):
    try:
        return sync_aliases(registry, manifest)
    except RegistryError as err:
        raise dg.Failure(
            f"manifest {manifest.release_id} is live but the MLflow aliases were not moved: {err}"
        ) from err


def _manifest_metadata(manifest: ReleaseManifest) -> dict:
    return {
        "release_id": manifest.release_id,
        "previous_release_id": manifest.previous_release_id or "none",
        "champion": manifest.champion.model_version,
        "canary": manifest.canary.model_version if manifest.canary else "none",
        "manifest_key": MANIFEST_KEY,
        "manifest": dg.MetadataValue.json(manifest.to_dict()),
    }


@dg.op(description="Make the live canary the champion of every camera and move @champion to it.")
def promote_canary_op(
    context: dg.OpExecutionContext, object_store: ObjectStoreResource, mlflow: MlflowResource
) -> str:
    ledger = ReleaseLedger(object_store.open())
    try:
        manifest = plan_promotion(ledger.current(), release_id=new_release_id())
    except ReleaseError as err:
        raise dg.Failure(str(err)) from err
    registry = mlflow.registry()
    ledger.publish(manifest)
    _sync(registry, manifest)
    context.log.info(
        f"promoted {manifest.champion.model_version} to champion in release {manifest.release_id}"
    )
    context.add_output_metadata(_manifest_metadata(manifest))
    return manifest.release_id


@dg.op(
    description="Restore the release before the live one: the manifest and the MLflow aliases, in one step."
)
def rollback_release_op(
    context: dg.OpExecutionContext, object_store: ObjectStoreResource, mlflow: MlflowResource
) -> str:
    ledger = ReleaseLedger(object_store.open())
    try:
        live, restored = plan_rollback(ledger)
    except ReleaseError as err:
        raise dg.Failure(str(err)) from err
    registry = mlflow.registry()
    ledger.restore(restored)
    _sync(registry, restored)
    context.log.info(f"rolled back from {live.release_id} to {restored.release_id}")
    context.add_output_metadata({"rolled_back_from": live.release_id, **_manifest_metadata(restored)})
    return restored.release_id


@dg.job(
    description="Promote the live canary to champion (manifest + @champion alias).",
    tags={"maskops": "release"},
)
def promote_canary():
    promote_canary_op()


@dg.job(
    description="Roll back to the previous release (manifest + aliases) in one step.",
    tags={"maskops": "release"},
)
def rollback_release():
    rollback_release_op()


# Dagster's defs-folder loader finds the asset and jobs themselves; the lists are for tests that
# build their own Definitions from this module.
ASSETS = [deployment_release]
JOBS = [promote_canary, rollback_release]
