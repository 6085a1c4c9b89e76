"""What reviewers changed, counted per class, and which kind of token a key is (no server needed)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from maskops_assets.labelstudio import LEGACY_TOKEN, PERSONAL_ACCESS_TOKEN, compare, token_kind
from maskops_assets.labelstudio.corrections import (
    Region,
    by_model_version,
    plot_corrections,
    regions_of,
    totals,
)


def _r(region_id: str, x1: float, y1: float, x2: float, y2: float, name: str = "with_mask") -> Region:
    return Region(region_id, x1, y1, x2, y2, name)


def test_each_kind_of_change_is_counted_under_its_class() -> None:
    predicted = [
        _r("a", 0, 0, 10, 10),  # kept as is
        _r("b", 20, 0, 30, 10),  # moved by 3 px: IoU 0.54
        _r("c", 40, 0, 50, 10, "without_mask"),  # re-classed
        _r("d", 60, 0, 70, 10, "mask_weared_incorrect"),  # deleted
        _r("e", 80, 0, 90, 10),  # deleted and drawn again by hand (new id): same object by IoU
    ]
    submitted = [
        _r("a", 0, 0, 10, 10),
        _r("b", 23, 0, 33, 10),
        _r("c", 40, 0, 50, 10, "with_mask"),
        _r("new1", 80.5, 0, 90, 10),
        _r("new2", 100, 100, 120, 120, "without_mask"),  # added
    ]
    counts = compare(predicted, submitted)
    assert counts["with_mask"] == {"unchanged": 2, "moved": 1, "reclassed": 0, "deleted": 0, "added": 0}
    assert counts["without_mask"] == {"unchanged": 0, "moved": 0, "reclassed": 1, "deleted": 0, "added": 1}
    assert counts["mask_weared_incorrect"]["deleted"] == 1
    assert totals(counts) == {"unchanged": 2, "moved": 1, "reclassed": 1, "deleted": 1, "added": 1}


def test_a_box_far_from_any_prediction_is_added_and_the_prediction_deleted() -> None:
    counts = compare([_r("a", 0, 0, 10, 10)], [_r("x", 50, 50, 60, 60)])
    assert totals(counts) == {"unchanged": 0, "moved": 0, "reclassed": 0, "deleted": 1, "added": 1}


def test_label_studio_regions_are_read_in_pixels() -> None:
    result = [
        {
            "id": "r1",
            "type": "rectanglelabels",
            "original_width": 200,
            "original_height": 100,
            "value": {"x": 10, "y": 20, "width": 25, "height": 50, "rectanglelabels": ["without_mask"]},
        },
        {"id": "c", "type": "choices", "value": {"choices": ["blurry"]}},
    ]
    assert regions_of(result) == [Region("r1", 20.0, 20.0, 70.0, 70.0, "without_mask")]


def test_counts_add_up_per_model_version_and_plot(tmp_path: Path) -> None:
    one = compare([_r("a", 0, 0, 10, 10)], [_r("a", 0, 0, 10, 10)])
    two = compare([_r("a", 0, 0, 10, 10)], [])
    records = [
        {"model_version": "v1", "corrections": one},
        {"model_version": "v1", "corrections": two},
        {"model_version": "v2", "corrections": one},
        {"sample_id": "from a file import: no corrections"},
    ]
    per_version = by_model_version(records)
    assert list(per_version) == ["v1", "v2"]
    assert totals(per_version["v1"]) == {"unchanged": 1, "moved": 0, "reclassed": 0, "deleted": 1, "added": 0}
    path = plot_corrections(per_version, tmp_path / "corrections.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_token_kinds() -> None:
    header = (
        base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).decode().rstrip("=")
    )
    assert token_kind(f"{header}.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2ln") == PERSONAL_ACCESS_TOKEN
    assert token_kind("0123456789abcdef0123456789abcdef01234567") == LEGACY_TOKEN
    assert token_kind("a.b.c") == LEGACY_TOKEN  # three parts, but no JWT header
