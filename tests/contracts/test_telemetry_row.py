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
