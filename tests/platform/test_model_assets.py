"""The model-side assets on a real Dagster instance, MLflow (SQLite) and a local object store.

One flow, in order: a first release (candidate becomes champion, aliases set); a release without
approval fails with instructions and ships nothing; a worse candidate is stopped by the blocking
gate check and never reaches the manifest. The upstream ``labeled_dataset`` is a stand-in asset
that points at a private copy of generated data.

The gate's verdict on the worse candidate holds by construction, whatever the tiny models learned
on this CPU: the test split is relabelled with the champion's own most confident boxes (so the
champion scores mAP50 1.0 on it through the same edge pipeline), and the candidate is the
champion with its class scores silenced (so it finds nothing: mAP50 0.0).
"""

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.defs import evaluation as evaluation_defs
from maskops_assets.defs import release as release_defs
from maskops_assets.defs import training as training_defs
from maskops_assets.lineage import LabeledDatasetVersion
from maskops_assets.resources import MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.store import LocalObjectStore
from maskops_assets.tracking.registry import CHALLENGER, CHAMPION
from maskops_contracts import CLASS_NAMES, MANIFEST_KEY, ReleaseManifest

pytestmark = pytest.mark.slow

EVAL_CONFIG = {"latency_budget_ms": 10_000.0, "shifted_images": 6, "latency_runs": 3, "min_map50": 0.0}


def build_defs(data_yaml: Path, root: Path, dataset: dict) -> dg.Definitions:
    @dg.asset(name="labeled_dataset", group_name="data")
    def labeled_dataset() -> LabeledDatasetVersion:
        return LabeledDatasetVersion(
            version=dataset["version"],
            git_rev="abc123",
            dvc_md5="d41d8",
            data_yaml=str(data_yaml),
            sample_batches=["batch-0001"],
        )

    return dg.Definitions(
        assets=[labeled_dataset, *training_defs.ASSETS, *evaluation_defs.ASSETS, *release_defs.ASSETS],
        asset_checks=evaluation_defs.CHECKS,
        jobs=release_defs.JOBS,
        resources={
            "mlflow": MlflowResource(
                tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
                artifact_location=(root / "mlflow_artifacts").as_uri(),
                ui_url="http://127.0.0.1:5000",
            ),
            "object_store": ObjectStoreResource(kind="local", root=str(root / "store")),
            "work_dir": WorkDirResource(root=str(root / "work")),
        },
    )


def run_config(train: dict, release: dict, evaluation: dict | None = None) -> dict:
    return {
        "ops": {
            "trained_model": {"config": {"train": train}},
            "model_evaluation": {"config": {**EVAL_CONFIG, **(evaluation or {})}},
            "deployment_release": {"config": release},
        }
    }


@pytest.fixture(scope="module")
def platform(tiny_data_yaml, tiny_models, tiny_train, tmp_path_factory):
    root = tmp_path_factory.mktemp("platform")
    # a private copy: this module relabels its test split, which other modules must not see
    data_dir = shutil.copytree(tiny_data_yaml.parent, root / "dataset")
    data_yaml = data_dir / tiny_data_yaml.name
    text = tiny_data_yaml.read_text().replace(str(tiny_data_yaml.parent), str(data_dir))
    data_yaml.write_text(text)
    dataset = {"version": "ds-test-v1"}
    defs = build_defs(data_yaml, root, dataset)
    with dg.instance_for_test() as instance:
        yield {
            "data_yaml": data_yaml,
            "dataset": dataset,
            "root": root,
            "defs": defs,
            "instance": instance,
            "store": LocalObjectStore(root / "store"),
            "registry": defs.resources["mlflow"].registry(),
            "good_weights": str(tiny_models["good"].weights),
            "tiny_train": tiny_train,
        }


def execute(platform, config: dict, selection=None) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("model_side", selection=selection)
    defs = dg.Definitions.merge(platform["defs"], dg.Definitions(jobs=[job]))
    return defs.resolve_job_def("model_side").execute_in_process(
        run_config=config, instance=platform["instance"], raise_on_error=False
    )


def manifest(platform) -> ReleaseManifest | None:
    store = platform["store"]
    return ReleaseManifest.from_json(store.get_bytes(MANIFEST_KEY)) if store.exists(MANIFEST_KEY) else None


@pytest.fixture(scope="module")
def first_release(platform):
    # a champion worth keeping: the well-trained tiny model, fine-tuned one epoch at a tiny learning rate
    train = {**platform["tiny_train"], "model": platform["good_weights"], "epochs": 1, "lr0": 0.0001}
    result = execute(platform, run_config(train, {"approved_by": "alice"}))
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    return result


def test_first_release_ships_the_candidate_as_champion(platform, first_release):
    live = manifest(platform)
    assert live is not None and live.canary is None and live.previous_release_id is None
    version = live.champion.model_version
    store = platform["store"]
    for name in ("model.onnx", "model.pt", "metadata.json"):
        assert store.exists(f"models/{version}/{name}")
    metadata = json.loads(store.get_bytes(f"models/{version}/metadata.json"))
    assert metadata["onnx_sha256"] == live.champion.sha256
    # the manifest pins the published bytes themselves, and the classes the model was trained with
    assert hashlib.sha256(store.get_bytes(f"models/{version}/model.onnx")).hexdigest() == live.champion.sha256
    assert list(live.champion.class_names) == metadata["class_names"]
    assert metadata["lineage"]["dataset_version"] == "ds-test-v1"
    assert metadata["lineage"]["sample_batches"] == ["batch-0001"]
    # the manifest names what the gate measured: fp32 on each runtime of this box, at least
    measured = {(v.runtime, v.precision) for v in live.champion.variants}
    assert {("onnxruntime", "fp32"), ("openvino", "fp32")} <= measured
    assert all(v.map50 is not None for v in live.champion.variants)
    # fp32 (and bf16) run the released model.onnx; an int8 variant is its own file, pinned by its own hash
    for v in live.champion.variants:
        if v.precision == "int8":
            assert v.uri == f"models/{version}/model_int8.zip"
            assert hashlib.sha256(store.get_bytes(v.uri)).hexdigest() == v.sha256
        else:
            assert v.sha256 == live.champion.sha256
    registry = platform["registry"]
    champion = registry.alias_version(CHAMPION)
    assert champion.model_version == version and registry.alias_version(CHALLENGER) is None


def test_lineage_and_pictures_in_metadata(platform, first_release):
    def meta(asset: str) -> dict:
        event = platform["instance"].get_latest_materialization_event(dg.AssetKey(asset))
        return event.asset_materialization.metadata

    trained, evaluated, released = meta("trained_model"), meta("model_evaluation"), meta("deployment_release")
    run_id = trained["mlflow_run_id"].value
    assert trained["dataset_version"].value == "ds-test-v1"
    assert run_id in trained["mlflow_run"].value and trained["mlflow_run"].value.startswith(
        "http://127.0.0.1:5000"
    )
    assert evaluated["model_version"].value == trained["model_version"].value
    # each picture is a PNG file beside the run, and an artifact of the candidate's MLflow run that the
    # asset page links to (one click), not a base64 copy inside the event log
    logged = {a.path for a in platform["registry"].client.list_artifacts(run_id, "evaluation")}
    for picture in ("confusion_matrix", "pr_curve", "per_class_plot"):
        file = Path(evaluated[f"{picture}_file"].path)
        assert file.is_file() and file.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), picture
        assert f"evaluation/{file.name}" in logged, (picture, logged)
        link = evaluated[picture]
        assert isinstance(link, dg.UrlMetadataValue), picture
        assert link.url.startswith("http://127.0.0.1:5000/#/experiments/")
        assert link.url.endswith(f"/runs/{run_id}/artifactPath/evaluation/{file.name}")
    assert not any("base64" in str(entry.value) for entry in evaluated.values())
    assert "| test | with_mask |" in evaluated["per_class"].value
    assert (
        evaluated["measured_with"].value.startswith("edge pipeline")
        and "fp32" in evaluated["measured_with"].value
    )
    assert "| onnxruntime | fp32 |" in evaluated["variants"].value
    assert evaluated["recent_data"].value.startswith("generated shifted domain")
    assert released["model_version"].value == trained["model_version"].value
    assert released["release_id"].value == manifest(platform).release_id
    assert released["sample_batches"].value == ["batch-0001"]
    assert released["approved_by"].value == "alice"
    run = platform["registry"].client.get_run(run_id)
    assert run.info.status == "FINISHED" and "map50" in run.data.metrics and "epochs" in run.data.params
    checks = [e for e in first_release.get_asset_check_evaluations()]
    by_name = {c.check_name: c for c in checks}
    assert set(by_name) == {"map50_gate", "class_recall_gate", "latency_gate", "int8_gate"}
    assert all(by_name[name].passed for name in ("map50_gate", "class_recall_gate", "latency_gate"))
    # int8_gate only decides the int8 variant (what a 1-epoch model loses to INT8 is not fixed):
    # the manifest names an int8 variant exactly when the check passed
    has_int8 = any(v.precision == "int8" for v in manifest(platform).champion.variants)
    assert has_int8 == by_name["int8_gate"].passed


def _relabel_test_split_with(onnx: Path, data_yaml: Path) -> int:
    """Rewrite the test labels as the model's own most confident boxes, as the gate's edge pipeline
    finds them; return how many boxes. Cut at the widest confidence gap among the top 3..20 boxes,
    so a rounding difference cannot move a box across the cut."""
    import cv2

    from edge_agent.detector import DetectorConfig, load_detector
    from maskops_assets.evaluation.metrics import MAP_CONF_THRESHOLD, EdgeSettings

    gate = EdgeSettings().resolved()  # what model_evaluation runs by default
    cfg = DetectorConfig(
        runtime=gate.runtime,
        precision="fp32",
        threads=1,
        streams=1,
        conf_threshold=MAP_CONF_THRESHOLD,
        iou_threshold=gate.iou_threshold,
    )
    detector = load_detector(onnx, model_version="champion", cfg=cfg, imgsz=96)
    images = sorted((data_yaml.parent / "images" / "test").glob("*.jpg"))
    found = []
    for image in images:
        frame = cv2.imread(str(image))
        found += [(d.confidence, image, d, frame.shape) for d in detector.detect(frame).detections]
    found.sort(key=lambda f: -f[0])
    top = found[:20]
    assert len(top) >= 3 and top[2][0] >= 0.01, "the champion must find a few faces at all"
    cut = max(range(3, len(top) + 1), key=lambda n: top[n - 1][0] - (top[n][0] if n < len(top) else 0.0))
    labels: dict[Path, list[str]] = {image: [] for image in images}
    for _, image, d, (height, width, _) in top[:cut]:
        x1, y1, x2, y2 = d.box
        k = CLASS_NAMES.index(d.class_name)
        cx, cy, w, h = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height
        labels[image].append(f"{k} {cx:.8f} {cy:.8f} {w:.8f} {h:.8f}")
    for image, lines in labels.items():
        (data_yaml.parent / "labels" / "test" / f"{image.stem}.txt").write_text(
            "".join(f"{x}\n" for x in lines)
        )
    return cut


def _silenced(weights: str, out: Path) -> Path:
    """The same model with every class score's last convolution at weights 0 and bias -1e4: each
    logit is -1e4 whatever the features (a tiny model's features reach 1e4, so a bias alone is not
    enough), sigmoid gives 0, it finds nothing."""
    import torch

    checkpoint = torch.load(weights, map_location="cpu", weights_only=False)
    for key in ("ema", "model"):
        if checkpoint.get(key) is None:
            continue
        head = checkpoint[key].model[-1]
        for branch in head.cv3:
            branch[-1].weight.data.zero_()
            branch[-1].bias.data.fill_(-1e4)
    torch.save(checkpoint, out)
    return out


def test_worse_candidate_is_blocked_by_the_gate(platform, first_release, monkeypatch):
    before = manifest(platform)
    champion_before = platform["registry"].alias_version(CHAMPION)
    store = platform["store"]
    champion_onnx = platform["root"] / "champion.onnx"
    champion_onnx.write_bytes(store.get_bytes(f"models/{before.champion.model_version}/model.onnx"))
    boxes = _relabel_test_split_with(champion_onnx, platform["data_yaml"])
    platform["dataset"]["version"] = "ds-test-v2"  # a relabelled test split is a new dataset version
    silenced = _silenced(platform["good_weights"], platform["root"] / "silenced.pt")
    # The training runs for real, but what it hands on is the silenced checkpoint itself, so "finds
    # nothing" holds by construction, not by what one epoch of ultralytics does to a silenced head.
    real_train = training_defs.train_detector

    def train_then_hand_on_the_silenced(*args, **kwargs):
        result = real_train(*args, **kwargs)
        shutil.copyfile(silenced, result.weights)
        return result

    monkeypatch.setattr(training_defs, "train_detector", train_then_hand_on_the_silenced)
    bad_train = {**platform["tiny_train"], "model": str(silenced), "epochs": 1, "lr0": 1e-9, "fraction": 0.5}
    result = execute(platform, run_config(bad_train, {"approved_by": "alice"}))
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    map50 = checks["map50_gate"]
    assert map50.metadata["champion"].value == pytest.approx(1.0), f"{boxes} relabelled boxes"
    assert map50.metadata["candidate"].value == 0.0
    assert not map50.passed, map50.description
    assert "exceeds the tolerance" in map50.description
    released = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("deployment_release")
    ]
    assert released == []
    assert manifest(platform) == before
    assert platform["registry"].alias_version(CHAMPION) == champion_before
    assert platform["registry"].alias_version(CHALLENGER) is None

    # releasing the stored (failed) evaluation on its own is refused too: the gate is read again
    alone = execute(
        platform,
        {"ops": {"deployment_release": {"config": {"approved_by": "mallory"}}}},
        selection=["deployment_release"],
    )
    assert not alone.success
    assert manifest(platform) == before


def test_search_trials_run_before_the_training_and_are_recorded(platform, first_release):
    """A two-trial Optuna search in front of the training: each trial is a nested MLflow run and a
    row of the materialization's metadata (whatever the trials scored)."""
    platform["dataset"]["version"] = "ds-test-v3"  # a new dataset version, so the asset trains
    config = {
        "ops": {
            "trained_model": {
                "config": {
                    "train": {**platform["tiny_train"], "epochs": 1, "fraction": 0.5},
                    "search_trials": 2,
                    "search_epochs_per_trial": 1,
                    "int8": False,
                }
            }
        }
    }
    result = execute(platform, config, selection=["labeled_dataset", "trained_model"])
    assert result.success
    trained = platform["instance"].get_latest_materialization_event(dg.AssetKey("trained_model"))
    metadata = trained.asset_materialization.metadata
    assert [row["trial"] for row in metadata["search_trials"].value] == [0, 1]
    parent = metadata["mlflow_run_id"].value
    registry = platform["registry"]
    trials = registry.client.search_runs(
        [registry.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent}'"
    )
    assert sorted(r.info.run_name for r in trials) == ["trial-0", "trial-1"]
