"""Sample packaging: one function for the edge agent and the platform's seeding."""

from datetime import UTC, datetime

import pytest

from maskops_contracts import ContractError, Detection, SampleRecord, SamplingReason, parse_sample_key
from maskops_contracts.packaging import package_sample
from maskops_contracts.sample import content_sample_id


def _package(**overrides):
    fields = dict(
        camera_id="door",
        captured_at=datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
        source="rtsp://cam/door",
        frame_index=7,
        model_version="maskops-detector-v2",
        reason=SamplingReason("uncertainty_band", 0.5),
        width=64,
        height=48,
        detections=[Detection((1, 2, 30, 40), "with_mask", 0.5, (0.5, 0.3, 0.2))],
    )
    return package_sample(b"\xff\xd8not-really-a-jpeg", **{**fields, **overrides})


def test_a_sample_is_its_jpeg_under_a_content_key_and_its_record_beside_it():
    packaged = _package()
    jpg, record_part = packaged.parts
    sample_id = content_sample_id(b"\xff\xd8not-really-a-jpeg")
    assert parse_sample_key(jpg.key) == ("door", "2026-11-30", sample_id, "jpg")
    assert parse_sample_key(record_part.key) == ("door", "2026-11-30", sample_id, "json")
    assert (jpg.content_type, record_part.content_type) == ("image/jpeg", "application/json")
    assert jpg.data == b"\xff\xd8not-really-a-jpeg"
    assert SampleRecord.from_json(record_part.data) == packaged.record
    assert packaged.record.sample_id == sample_id and packaged.record.frame_index == 7
    assert _package().parts == packaged.parts  # a retry writes the same keys and bytes


def test_a_record_that_breaks_the_contract_is_refused():
    with pytest.raises(ContractError):
        _package(camera_id="../escape")
