"""``model_evaluation`` and the blocking asset checks that are the automatic release gate.

The candidate's released ONNX model and the current ``@champion``'s are run through the edge
agent's own pipeline (letterbox, runtime, decode, NMS at the edge's settings) on the same frozen
test split of the labeled dataset and on recent data (a configured data.yaml, else the newest
reviewed label batch in the store, else a generated shifted-domain set), and scored with COCO's
evaluation; the confusion matrix and precision/recall are drawn at the edge's operating threshold.
The gated figure is fp32 on the runtime a camera picks by default; the candidate is also measured
on every other runtime and precision this machine offers (ONNX Runtime, OpenVINO bfloat16 on AMX
CPUs), and the release manifest lists the variants that measured within ``max_variant_drop``.
The INT8 model ``trained_model`` quantized (``model_int8.zip`` beside ``model.onnx``) is measured
the same way on OpenVINO and ships only within ``int8_max_drop`` mAP50 of the fp32 model on
OpenVINO: the ``int8_gate`` check reports that verdict with its figures, and a failed INT8 is left
out of the manifest (a WARN, so it does not block the fp32 release).
The checks fail, and block ``deployment_release`` in the same run, when mAP50 or any class's
recall drops more than the tolerance or latency is over budget; with no champion yet they judge
the candidate against absolute floors.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
from pathlib import Path

import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.evaluation.gates import GatePolicy
from maskops_assets.evaluation.metrics import EdgeSettings, EvaluationResult, evaluate_on_edge
from maskops_assets.evaluation.plots import plot_int8_vs_fp32, render_plots
from maskops_assets.evaluation.recent import RECENT_SPLIT, newest_reviewed_set, shifted_set
from maskops_assets.evaluation.report import (
    INT8,
    RECENT,
    TEST,
    ChampionRef,
    MeasuredVariant,
    ModelEvaluation,
    gate_verdicts,
    int8_verdict,
    variant_verdicts,
)
from maskops_assets.lineage import LabeledDatasetVersion, TrainedModel
from maskops_assets.resources import MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.store import ObjectStore
from maskops_assets.tracking.registry import CHAMPION
from maskops_assets.training.export import MODEL_ONNX
from maskops_assets.training.quantize import MODEL_INT8
from maskops_contracts import sha256_file

GATES = ("map50", "class_recall", "latency")
#: The picture of the INT8 model beside fp32 (``ModelEvaluation.plots`` key, metadata name).
INT8_PLOT = "int8_vs_fp32"
#: Where the evaluation plots go in the candidate's MLflow run.
PLOTS_ARTIFACT_DIR = "evaluation"


class ModelEvaluationConfig(dg.Config):
    """Gate tolerances, how the edge pipeline runs the models, and what "recent data" means."""

    max_map50_drop: float = Field(0.02, ge=0, le=1, description="allowed mAP50 drop vs the champion")
    max_recall_drop: float = Field(0.05, ge=0, le=1, description="allowed per-class recall drop vs champion")
    latency_budget_ms: float = Field(100.0, gt=0, description="median ONNX latency budget (1 thread)")
    min_map50: float = Field(0.05, ge=0, le=1, description="mAP50 floor when there is no champion")
    min_class_recall: float = Field(0.0, ge=0, le=1, description="per-class recall floor, no champion")
    runtime: str = Field(
        "auto",
        description="runtime of the gated fp32 figure: auto (what a camera picks: OpenVINO where "
        "installed), openvino or onnxruntime",
    )
    max_variant_drop: float = Field(
        0.01,
        ge=0,
        le=1,
        description="another runtime or precision (e.g. bf16) ships only within this mAP50 of the gated one",
    )
    int8_max_drop: float = Field(
        0.01,
        ge=0,
        le=1,
        description="the INT8 model ships only within this mAP50 of the fp32 model on the same runtime",
    )
    recent_data_yaml: str = Field(
        "", description="data.yaml of recent data; empty: newest reviewed label batch, else a shifted set"
    )
    recent_split: str = Field("test", description="split of recent_data_yaml to evaluate")
    shifted_images: int = Field(30, ge=3, description="images in the generated shifted set")
    shifted_seed: int = Field(1, description="seed of the generated shifted set")
    latency_runs: int = Field(30, ge=1, description="timed forward passes for the latency median")


def _edge_variants(gated_runtime: str) -> list[tuple[str, str]]:
    """Every (runtime, precision) this machine can run, the gated fp32 one first."""
    from edge_agent.detector import offered_precisions
    from edge_agent.detector.base import openvino_available

    runtimes = ["openvino", "onnxruntime"] if openvino_available() else ["onnxruntime"]
    pairs = [(gated_runtime, "fp32")]
    for runtime in runtimes:
        pairs += [(runtime, p) for p in offered_precisions(runtime) if (runtime, p) not in pairs]
    return pairs


@dg.asset(
    group_name="training",
    kinds={"python", "onnx"},
    owners=[OWNER],
    description=(
        "The candidate's released ONNX model against the current @champion's, run through the edge "
        "agent's own pipeline on the frozen test split and on recent (shifted) data: COCO mAP50 and "
        "mAP50-95, per-class precision/recall at the edge's operating threshold, AP, confusion matrix, "
        "PR curves, latency, and the runtime/precision variants a camera may run. Its blocking checks "
        "are the automatic release gate."
    ),
)
def model_evaluation(
    context: dg.AssetExecutionContext,
    config: ModelEvaluationConfig,
    trained_model: TrainedModel,
    labeled_dataset: LabeledDatasetVersion,
    mlflow: MlflowResource,
    object_store: ObjectStoreResource,
    work_dir: WorkDirResource,
) -> dg.MaterializeResult:
    policy = GatePolicy(
        max_map50_drop=config.max_map50_drop,
        max_recall_drop=config.max_recall_drop,
        latency_budget_ms=config.latency_budget_ms,
        min_map50=config.min_map50,
        min_class_recall=config.min_class_recall,
    )
    out_dir = work_dir.dir("evaluation", trained_model.model_version, context.run.run_id)
    recent, recent_split, recent_what = _recent_data(
        config, object_store.open(), work_dir, trained_model.imgsz, context.log
    )
    datasets = {TEST: (labeled_dataset.data_yaml, "test"), RECENT: (str(recent), recent_split)}
    gated = EdgeSettings(runtime=config.runtime, precision="fp32").resolved()

    def measure(onnx: str, who: str) -> dict[str, EvaluationResult]:
        return {
            name: evaluate_on_edge(
                onnx,
                data_yaml,
                split,
                imgsz=trained_model.imgsz,
                settings=gated,
                latency_runs=config.latency_runs if name == TEST else 0,
                progress=lambda line, who=who: context.log.info(f"{who}: {line}"),
            )
            for name, (data_yaml, split) in datasets.items()
        }

    candidate = measure(trained_model.onnx, "candidate")
    measured = []
    for runtime, precision in _edge_variants(gated.runtime)[1:]:
        settings = EdgeSettings(runtime=runtime, precision=precision)
        result = evaluate_on_edge(
            trained_model.onnx,
            labeled_dataset.data_yaml,
            "test",
            imgsz=trained_model.imgsz,
            settings=settings,
            latency_runs=0,
            progress=lambda line: context.log.info(f"candidate variant: {line}"),
        )
        measured.append((runtime, precision, result))
    variants = variant_verdicts(candidate[TEST], measured, config.max_variant_drop)
    int8 = _measure_int8(context, config, trained_model, labeled_dataset, candidate[TEST], measured)
    if int8 is not None:
        variants = (*variants, int8[0])

    registry = mlflow.registry()
    champion_version = registry.alias_version(CHAMPION)
    champion_ref, champion = None, {}
    if champion_version is None:
        context.log.info("no @champion yet: the gate judges the candidate against absolute floors")
    elif champion_version.version == trained_model.registered_version:
        context.log.info("the candidate is already @champion; nothing to compare against")
    else:
        champion_ref = ChampionRef(
            champion_version.version, champion_version.model_version, champion_version.run_id
        )
        onnx = registry.download_artifact(
            champion_version.run_id, f"model/{MODEL_ONNX}", out_dir / "champion_files"
        )
        champion = measure(str(onnx), "champion")

    plots: dict[str, str] = {}
    if int8 is not None:
        _, fp32, int8_result = int8
        plots[INT8_PLOT] = str(
            plot_int8_vs_fp32(
                fp32, int8_result, out_dir / "plots" / "int8_vs_fp32.png", max_drop=config.int8_max_drop
            )
        )
    for name, result in candidate.items():
        for kind, path in render_plots(
            result, out_dir / "plots", champion=champion.get(name), prefix=f"{name}_"
        ).items():
            plots[f"{name}_{kind}"] = str(path)
    evaluation = ModelEvaluation(
        candidate=trained_model,
        policy=policy,
        candidate_results=candidate,
        champion=champion_ref,
        champion_results=champion,
        plots=plots,
        recent_data=recent_what,
        variants=variants,
    )
    test = candidate[TEST]
    metadata = {
        "model_version": trained_model.model_version,
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(trained_model.mlflow_run_id)),
        "dataset_version": trained_model.dataset_version,
        "champion_version": champion_ref.model_version if champion_ref else "none",
        "measured_with": f"edge pipeline, {test.runtime} {test.inference_precision}, COCOeval",
        "operating_conf": test.conf_threshold,
        "test_map50": test.map50,
        "test_map50_95": test.map50_95,
        "recent_map50": candidate[RECENT].map50,
        "latency_ms": test.latency_ms if test.latency_ms is not None else "not measured",
        "per_class": dg.MetadataValue.md(_comparison_table(evaluation)),
        "variants": dg.MetadataValue.md(_variants_table(variants)),
        # the pictures are files (and MLflow artifacts of the candidate's run), linked, not embedded:
        # a base64 PNG in metadata would be stored in every materialization event
        **_picture("confusion_matrix", plots[f"{TEST}_confusion_matrix"], mlflow, trained_model),
        **_picture("pr_curve", plots[f"{TEST}_pr_curve"], mlflow, trained_model),
        **_picture("per_class_plot", plots[f"{TEST}_per_class"], mlflow, trained_model),
        **(_picture(INT8_PLOT, plots[INT8_PLOT], mlflow, trained_model) if INT8_PLOT in plots else {}),
        "recent_data": recent_what,
    }
    if champion:
        metadata["champion_test_map50"] = champion[TEST].map50
    # the gated figures also go to the candidate's MLflow run, next to its training metrics
    registry.log_metrics(
        trained_model.mlflow_run_id,
        {f"eval_{name}_{k}": getattr(r, k) for name, r in candidate.items() for k in ("map50", "map50_95")},
    )
    for path in plots.values():
        registry.log_artifact(trained_model.mlflow_run_id, path, PLOTS_ARTIFACT_DIR)
    return dg.MaterializeResult(value=evaluation, metadata=metadata)


def _measure_int8(
    context: dg.AssetExecutionContext,
    config: ModelEvaluationConfig,
    trained_model: TrainedModel,
    labeled_dataset: LabeledDatasetVersion,
    gated: EvaluationResult,
    measured: list,
) -> tuple[MeasuredVariant, EvaluationResult, EvaluationResult] | None:
    """The INT8 model on OpenVINO against fp32 on OpenVINO, both on the frozen test split: the
    verdict, the fp32 and the int8 result; None (logged) where there is no INT8 model or no OpenVINO."""
    from edge_agent.detector.base import openvino_available

    path = Path(trained_model.onnx).with_name(MODEL_INT8)
    if not path.is_file():
        context.log.info(f"no INT8 model ({path} does not exist): the release ships fp32 variants only")
        return None
    if not openvino_available():
        context.log.warning("INT8 not measured: OpenVINO is not installed here; it runs the INT8 model")
        return None
    if (gated.runtime, gated.inference_precision) == ("openvino", "fp32"):
        fp32 = gated
    else:
        fp32 = next(r for rt, p, r in measured if (rt, p) == ("openvino", "fp32"))
    result = evaluate_on_edge(
        path,
        labeled_dataset.data_yaml,
        "test",
        imgsz=trained_model.imgsz,
        # the runtime setting of the layers left in float; the quantized ones run int8
        settings=EdgeSettings(runtime="openvino", precision="fp32"),
        latency_runs=0,
        progress=lambda line: context.log.info(f"candidate int8: {line}"),
    )
    verdict = int8_verdict(fp32, result, sha256_file(path), config.int8_max_drop)
    context.log.info(f"int8: {verdict.reason}")
    return verdict, fp32, result


def _recent_data(
    config: ModelEvaluationConfig, store: ObjectStore, work_dir: WorkDirResource, imgsz: int, log
) -> tuple[Path, str, str]:
    """(data.yaml, split, what it is) of the recent data this evaluation uses."""
    if config.recent_data_yaml:
        path = Path(config.recent_data_yaml)
        if not path.is_file():
            raise dg.Failure(
                f"recent_data_yaml {path} does not exist; give a YOLO data.yaml or leave it empty"
            )
        return path, config.recent_split, f"configured {path}"
    cache = work_dir.dir("evaluation", "recent")
    reviewed = newest_reviewed_set(store, cache)
    if reviewed is not None:
        return reviewed[0], RECENT_SPLIT, f"newest reviewed label batch {reviewed[1]}"
    log.info("no reviewed labels yet: recent data is a generated shifted-domain set")
    data_yaml = shifted_set(cache, n_images=config.shifted_images, seed=config.shifted_seed, imgsz=imgsz)
    return data_yaml, RECENT_SPLIT, f"generated shifted domain ({config.shifted_images} images)"


def _picture(name: str, path: str, mlflow: MlflowResource, candidate: TrainedModel) -> dict:
    """``name``: the picture in the MLflow UI (one click from the asset page); ``name_file``: the file."""
    artifact = f"{PLOTS_ARTIFACT_DIR}/{Path(path).name}"
    return {
        name: dg.MetadataValue.url(mlflow.artifact_url(candidate.mlflow_run_id, artifact)),
        f"{name}_file": dg.MetadataValue.path(path),
    }


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _variants_table(variants) -> str:
    lines = ["| runtime | precision | mAP50 | mAP50-95 | ships | why |", "|---|---|---|---|---|---|"]
    for v in variants:
        lines.append(
            f"| {v.runtime} | {v.precision} | {v.map50:.4f} | {v.map50_95:.4f} | "
            f"{'yes' if v.ships else 'no'} | {v.reason} |"
        )
    return "\n".join(lines)


def _comparison_table(evaluation: ModelEvaluation) -> str:
    columns = [
        "data",
        "class",
        "instances",
        "precision",
        "recall",
        "ap50",
        "champion_recall",
        "champion_ap50",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in evaluation.comparison_rows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def _gate_check(gate: str):
    @dg.asset_check(
        asset=model_evaluation,
        name=f"{gate}_gate",
        blocking=True,
        description=f"release gate '{gate}': blocks deployment_release in the same run when it fails",
    )
    def check(model_evaluation: ModelEvaluation) -> dg.AssetCheckResult:
        verdict = gate_verdicts(model_evaluation)[gate]
        return dg.AssetCheckResult(
            passed=verdict.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=verdict.message,
            metadata={
                "message": verdict.message,
                "model_version": model_evaluation.candidate.model_version,
                **{k: v for k, v in verdict.details.items() if v is not None},
            },
        )

    return check


@dg.asset_check(
    asset=model_evaluation,
    name="int8_gate",
    blocking=True,
    description=(
        "the INT8 model ships only within int8_max_drop mAP50 of the fp32 model on OpenVINO; a failure "
        "(WARN) keeps it out of the release manifest and lets the fp32 release go ahead"
    ),
)
def int8_gate(model_evaluation: ModelEvaluation) -> dg.AssetCheckResult:
    int8 = next((v for v in model_evaluation.variants if v.precision == INT8), None)
    model_version = model_evaluation.candidate.model_version
    if int8 is None:
        return dg.AssetCheckResult(
            passed=True,
            description="no INT8 model was measured (none quantized, or no OpenVINO): fp32 ships alone",
            metadata={"model_version": model_version, "int8": "not measured"},
        )
    return dg.AssetCheckResult(
        passed=int8.ships,
        # WARN: blocking with ERROR would hold back the fp32 release too; the manifest already
        # leaves out an INT8 model that failed (the same verdict, ``MeasuredVariant.ships``)
        severity=dg.AssetCheckSeverity.WARN,
        description=int8.reason if int8.ships else f"INT8 left out of the release manifest: {int8.reason}",
        metadata={
            "model_version": model_version,
            "int8_map50": int8.map50,
            "int8_map50_95": int8.map50_95,
            "fp32_map50": int8.reference_map50,
            "drop": int8.drop,
            "int8_max_drop": int8.max_drop,
            "runtime": int8.runtime,
            "int8_sha256": int8.sha256,
            "in_manifest": int8.ships,
            **(
                {"picture": dg.MetadataValue.path(model_evaluation.plots[INT8_PLOT])}
                if INT8_PLOT in model_evaluation.plots
                else {}
            ),
        },
    )


# A module-level list is how Dagster's defs-folder loader finds the checks the factory built (and
# what tests use to build their own Definitions from this module, with ASSETS).
CHECKS = [*(_gate_check(gate) for gate in GATES), int8_gate]
ASSETS = [model_evaluation]
