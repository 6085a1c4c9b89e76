"""The shadow comparison record: its invariants, a round trip through a dict and through the
agent's parquet, and its own key prefix, apart from the telemetry rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge_agent.telemetry import parquet_to_shadow_rows, shadow_rows_to_parquet
from maskops_contracts import CLASS_NAMES, TELEMETRY_COLUMNS, ContractError
from maskops_contracts.keys import shadow_key
from maskops_contracts.telemetry import SHADOW_COLUMNS, ShadowRow

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def row(**changes) -> ShadowRow:
    fields = {
        "camera_id": "cam-a",
        "ts": T0,
        "model_version": "v1",
        "shadow_model_version": "v2",
        "champion_boxes": 3,
        "shadow_boxes": 2,
        "matched": 2,
        "class_agreed": 1,
        "champion_only": 1,
        "shadow_only": 0,
        "mean_confidence_delta": -0.1,
        "class_mismatches": {"with_mask": 1},
        "dropped_before": 4,
    }
    return ShadowRow(**{**fields, **changes})


def test_round_trip_through_a_dict_and_parquet():
    r = row()
    assert r.class_mismatches == {name: int(name == "with_mask") for name in CLASS_NAMES}
    assert list(r.to_dict()) == list(SHADOW_COLUMNS)
    assert ShadowRow.from_dict(r.to_dict()) == r
    assert parquet_to_shadow_rows(shadow_rows_to_parquet([r, row(dropped_before=0)])) == [
        r,
        row(dropped_before=0),
    ]
    assert r.agreement == pytest.approx(1 / 3)
    empty = row(
        champion_boxes=0,
        shadow_boxes=0,
        matched=0,
        class_agreed=0,
        champion_only=0,
        class_mismatches={},
        mean_confidence_delta=0.0,
    )
    assert empty.agreement == 1.0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"matched": 3, "champion_only": 0, "shadow_only": -1}, "shadow_only"),
        ({"class_agreed": 3}, "class_agreed"),
        ({"champion_only": 0}, "champion_only"),
        ({"class_mismatches": {"with_mask": 0}}, "class_mismatches"),
        ({"class_mismatches": {"hat": 1}}, "class_mismatches"),
        ({"mean_confidence_delta": 2.0}, "mean_confidence_delta"),
        ({"shadow_model_version": "bad id/"}, "shadow_model_version"),
    ],
)
def test_an_inconsistent_row_names_the_field(changes, field):
    with pytest.raises(ContractError) as err:
        row(**changes)
    assert err.value.field == field


def test_shadow_rows_have_their_own_prefix_and_leave_the_telemetry_columns_alone():
    assert shadow_key("cam-a", T0, "b1") == "shadow/cam-a/2026-11-30/b1.parquet"
    assert "shadow_model_version" not in TELEMETRY_COLUMNS
    with pytest.raises(ContractError) as err:
        ShadowRow.from_dict({k: v for k, v in row().to_dict().items() if k != "matched"})
    assert err.value.field == "matched"
    newer = {**row().to_dict(), "schema_version": 2}
    with pytest.raises(ContractError) as err:
        ShadowRow.from_dict(newer)
    assert err.value.field == "schema_version"
