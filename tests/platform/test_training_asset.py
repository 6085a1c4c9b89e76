"""``trained_model`` on a real Dagster instance and MLflow store: what the run records, and no retrain
on an unchanged dataset.

One real (tiny, two-epoch) training registers ``maskops-detector-v1`` on ``ds-test-v1``. What is
asserted never depends on what the tiny model learned: the keys and steps MLflow holds, that the
summary equals the best epoch's row, that the optimizer ultralytics built is recorded, and that a
second run on the same dataset trains nothing and skips what is downstream. ``downstream`` stands in
for ``model_evaluation``/``deployment_release`` (which another module owns).
"""

import dagster as dg
import pytest

from maskops_assets.defs import training as training_defs
from maskops_assets.demo import not_retrained
from maskops_assets.lineage import LabeledDatasetVersion, TrainedModel
from maskops_assets.resources import MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.tracking.registry import DATASET_VERSION_TAG

pytestmark = pytest.mark.slow

EPOCHS = 2


class DatasetStub(dg.Config):
    version: str = "ds-test-v1"
    git_rev: str = "abc123"
    data_yaml: str = ""


@dg.asset(name="labeled_dataset", group_name="data")
def labeled_dataset(config: DatasetStub) -> LabeledDatasetVersion:
    return LabeledDatasetVersion(
        version=config.version,
        git_rev=config.git_rev,
        dvc_md5="d41d8",
        data_yaml=config.data_yaml,
        sample_batches=["batch-0001"],
    )


@dg.asset(group_name="training")
def downstream(trained_model: TrainedModel) -> str:
    return trained_model.model_version


@pytest.fixture(scope="module")
def platform(tiny_data_yaml, tiny_train, tmp_path_factory):
    root = tmp_path_factory.mktemp("training_asset")
    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        artifact_location=(root / "mlflow_artifacts").as_uri(),
        ui_url="http://127.0.0.1:5000",
    )
    resources = {
        "mlflow": mlflow,
        "object_store": ObjectStoreResource(kind="local", root=str(root / "store")),
        "work_dir": WorkDirResource(root=str(root / "work")),
    }
    train = {**tiny_train, "epochs": EPOCHS, "imgsz": 64}
    with dg.instance_for_test() as instance:

        def run(dataset: dict | None = None, **trained_model_config) -> dg.ExecuteInProcessResult:
            config = {"train": train, **trained_model_config}
            return dg.materialize(
                [labeled_dataset, *training_defs.ASSETS, downstream],
                instance=instance,
                resources=resources,
                run_config={
                    "ops": {
                        "labeled_dataset": {"config": {"data_yaml": str(tiny_data_yaml), **(dataset or {})}},
                        "trained_model": {"config": config},
                    }
                },
                raise_on_error=False,
            )

        first = run()
        assert first.success, [e.event_specific_data for e in first.all_events if e.is_failure]
        yield {"run": run, "first": first, "registry": mlflow.registry(), "train": train}


def test_run_summary_is_the_registered_weights(platform):
    trained: TrainedModel = platform["first"].output_for_node("trained_model")
    registry = platform["registry"]
    client = registry.client
    run = client.get_run(trained.mlflow_run_id)
    metrics = run.data.metrics

    # per-epoch curves under their own keys, one point per epoch
    for key in ("epoch_map50", "epoch_map50_95", "epoch_precision", "epoch_recall", "epoch_fitness"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == list(
            range(1, EPOCHS + 1)
        ), key
    # the plain names are logged once: what the run page shows is the registered weights' figures
    best = int(metrics["best_epoch"])
    assert 1 <= best <= EPOCHS
    for key in ("map50", "map50_95", "precision", "recall", "fitness"):
        history = client.get_metric_history(run.info.run_id, key)
        assert len(history) == 1, (key, history)
        epoch_row = {m.step: m.value for m in client.get_metric_history(run.info.run_id, f"epoch_{key}")}
        assert metrics[key] == trained.metrics[key] == epoch_row[best], key
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["epochs_run"] == EPOCHS
    # the best epoch is the last one with the highest fitness (the one that wrote best.pt)
    fitness = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "epoch_fitness")}
    assert best == max(step for step, value in fitness.items() if value == max(fitness.values()))
    found = client.search_runs([registry.experiment_id], order_by=["metrics.map50 DESC"])
    assert found[0].data.metrics["map50"] == trained.metrics["map50"]


def test_requested_and_used_optimizer_are_both_recorded(platform):
    trained: TrainedModel = platform["first"].output_for_node("trained_model")
    params = platform["registry"].client.get_run(trained.mlflow_run_id).data.params
    train = platform["train"]
    assert params["optimizer"] == train["optimizer"] and float(params["lr0"]) == train["lr0"]
    # tiny_train asks for SGD at lr0 0.05: ultralytics builds exactly that
    assert params["optimizer_used"] == "SGD" and float(params["lr0_used"]) == pytest.approx(train["lr0"])
    materialization = platform["first"].asset_materializations_for_node("trained_model")[0]
    assert materialization.metadata["optimizer_used"].value == "SGD"
    assert materialization.metadata["lr0_used"].value == pytest.approx(train["lr0"])
    assert 1 <= materialization.metadata["best_epoch"].value <= EPOCHS


def test_registered_version_names_its_dataset(platform):
    registry = platform["registry"]
    latest = registry.latest_trained()
    assert latest.model_version == "maskops-detector-v1"
    assert latest.tags[DATASET_VERSION_TAG] == "ds-test-v1"
    assert registry.trained_on(latest)[DATASET_VERSION_TAG] == "ds-test-v1"


def test_unchanged_dataset_is_not_retrained(platform):
    again = platform["run"]()
    assert again.success
    assert again.asset_materializations_for_node("trained_model") == []
    assert again.is_node_skipped("downstream")
    why = not_retrained(again)
    assert why is not None
    assert "dataset version ds-test-v1 is the one maskops-detector-v1 was trained on" in why
    assert "nothing new to learn" in why and "force: true" in why
    assert platform["registry"].latest_trained().model_version == "maskops-detector-v1"  # no v2


@pytest.mark.parametrize(
    ("dataset", "config"),
    [
        ({}, {"force": True}),  # same dataset, forced
        ({"version": "ds-test-v2"}, {}),  # a new dataset version
        ({"git_rev": "fff999"}, {}),  # the same tag in another (re-created) dataset repository
    ],
    ids=["forced", "new-version", "other-repository"],
)
def test_training_goes_ahead_when_forced_or_the_dataset_differs(platform, tmp_path, dataset, config):
    # a missing data.yaml makes the training itself fail at once: reaching it proves nothing skipped it
    missing = str(tmp_path / "missing" / "data.yaml")
    result = platform["run"]({**dataset, "data_yaml": missing}, **config)
    assert not result.success
    failure = next(e for e in result.get_step_failure_events() if e.step_key == "trained_model")
    error = failure.event_specific_data.error
    assert error.cause.cls_name == "TrainingError" and "does not exist" in error.cause.message
    assert not_retrained(result) is None
