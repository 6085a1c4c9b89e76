from datetime import UTC, datetime

import pytest

from maskops_contracts import TELEMETRY_COLUMNS, ContractError, TelemetryRow


def row(**overrides):
    fields = dict(
        camera_id="cam-1",
        ts=datetime(2026, 11, 23, tzinfo=UTC),
        model_version="v1",
        brightness=120.0,
        contrast=40.0,
        blur=300.0,
        mean_r=100.0,
        mean_g=110.0,
        mean_b=90.0,
        saturation=60.0,
        num_detections=2,
        mean_confidence=0.7,
        min_confidence=0.5,
        class_counts={"with_mask": 1, "without_mask": 1},
        inference_ms=12.5,
    )
    fields.update(overrides)
    return TelemetryRow(**fields)


def test_flat_row_has_exactly_the_contract_columns_and_round_trips():
    flat = row().to_dict()
    assert tuple(flat) == TELEMETRY_COLUMNS
    assert flat["count_mask_weared_incorrect"] == 0
    assert TelemetryRow.from_dict(flat) == row(
        class_counts={"with_mask": 1, "without_mask": 1, "mask_weared_incorrect": 0}
    )
    assert TelemetryRow.from_dict(flat) == row()  # absent classes count 0 on both sides


def test_a_newer_schema_or_a_non_integer_count_is_refused_by_name():
    flat = {**row().to_dict(), "schema_version": 99}
    with pytest.raises(ContractError, match="newer than this maskops understands") as err:
        TelemetryRow.from_dict(flat)
    assert err.value.field == "schema_version"
    flat = {**row().to_dict(), "count_with_mask": "x"}
    with pytest.raises(ContractError) as err:
        TelemetryRow.from_dict(flat)
    assert err.value.field == "count_with_mask"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"camera_id": "a/b"}, "camera_id"),
        ({"mean_confidence": 2.0}, "mean_confidence"),
        ({"num_detections": -1}, "num_detections"),
        ({"class_counts": {"cat": 1}}, "class_counts"),
        ({"brightness": float("nan")}, "brightness"),
    ],
)
def test_invalid_rows_name_the_field(overrides, field):
    with pytest.raises(ContractError) as err:
        row(**overrides)
    assert err.value.field == field


def test_missing_column_is_named():
    flat = row().to_dict()
    del flat["blur"]
    with pytest.raises(ContractError, match="blur"):
        TelemetryRow.from_dict(flat)


def test_runtime_and_precision_are_the_last_columns_and_round_trip():
    assert TELEMETRY_COLUMNS[-2:] == ("runtime", "precision")
    ran = row(runtime="openvino", precision="bf16")
    flat = ran.to_dict()
    assert (flat["runtime"], flat["precision"]) == ("openvino", "bf16")
    assert TelemetryRow.from_dict(flat) == ran
    assert row().to_dict()["precision"] is None  # no detector ran the frame


def test_a_row_written_before_runtime_and_precision_reads_them_as_not_recorded():
    old = row(runtime="openvino", precision="fp32").to_dict()
    del old["runtime"], old["precision"]
    read = TelemetryRow.from_dict(old)
    assert (read.runtime, read.precision, read.schema_version) == (None, None, 1)


def test_a_reader_takes_the_columns_it_knows():
    """Why a reader from before runtime and precision reads the new rows: it takes its columns
    by name and skips the others (as this one does a column added after it)."""
    flat = {**row(precision="fp32").to_dict(), "from_the_future": 3.5}
    assert TelemetryRow.from_dict(flat) == row(precision="fp32")


@pytest.mark.parametrize(
    ("overrides", "field"), [({"runtime": "tensorrt"}, "runtime"), ({"precision": "f32"}, "precision")]
)
def test_unknown_runtime_or_precision_is_refused_by_name(overrides, field):
    with pytest.raises(ContractError) as err:
        row(**overrides)
    assert err.value.field == field
