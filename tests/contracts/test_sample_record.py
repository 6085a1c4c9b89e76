import json
from datetime import UTC, datetime

import pytest

from maskops_contracts import (
    CLASS_NAMES,
    ContractError,
    Detection,
    SampleRecord,
    SamplingReason,
    parse_sample_key,
    sample_key,
)
from maskops_contracts.sample import content_sample_id


def make_record(**overrides):
    fields = dict(
        camera_id="lobby-cam-1",
        sample_id=content_sample_id(b"jpeg bytes"),
        captured_at=datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC),
        source="rtsp://user:***@10.0.0.5/stream",
        frame_index=42,
        model_version="v3",
        reason=SamplingReason("margin", 0.12),
        width=640,
        height=480,
        detections=(
            Detection((10, 20, 110, 140), "with_mask", 0.55, (0.55, 0.40, 0.05)),
            Detection((200.5, 50, 260, 130), "mask_weared_incorrect", 0.9, (0.05, 0.05, 0.9)),
        ),
    )
    fields.update(overrides)
    return SampleRecord(**fields)


def test_json_round_trip_is_lossless():
    record = make_record()
    again = SampleRecord.from_json(record.to_json())
    assert again == record
    data = json.loads(record.to_json())
    assert data["schema_version"] == 1
    assert data["captured_at"] == "2026-11-23T12:00:05Z"
    assert data["detections"][0]["class"] == "with_mask"
    assert len(data["detections"][1]["class_probs"]) == len(CLASS_NAMES)


def test_content_sample_id_is_stable_and_content_derived():
    assert content_sample_id(b"abc") == content_sample_id(b"abc")
    assert content_sample_id(b"abc") != content_sample_id(b"abd")
    assert len(content_sample_id(b"abc")) == 24


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("camera_id"), "camera_id"),
        (lambda d: d.update(frame_index=-1), "frame_index"),
        (lambda d: d.update(width="640"), "width"),
        (lambda d: d.update(captured_at="2026-11-23T12:00:05"), "captured_at"),
        (lambda d: d.update(captured_at="yesterday"), "captured_at"),
        (lambda d: d["reason"].update(rule="vibes"), "reason.rule"),
        (lambda d: d["detections"][1].update({"class": "helmet"}), "detections[1].class"),
        (lambda d: d["detections"][0].update(box=[5, 5, 1, 1]), "detections[0].box"),
        (lambda d: d["detections"][0].update(class_probs=[0.5, 0.5]), "detections[0].class_probs"),
        (lambda d: d["detections"][0].update(confidence=1.5), "detections[0].confidence"),
        (lambda d: d["detections"][0].update(box=[600, 400, 700, 470]), "detections[0].box"),
    ],
)
def test_invalid_fields_are_named(mutate, field):
    data = make_record().to_dict()
    mutate(data)
    with pytest.raises(ContractError) as err:
        SampleRecord.from_dict(data, source="samples/x.json")
    assert err.value.field == field
    assert str(err.value).startswith("samples/x.json: ")


def test_newer_schema_version_is_refused_with_advice():
    data = make_record().to_dict()
    data["schema_version"] = 99
    with pytest.raises(ContractError, match="upgrade maskops"):
        SampleRecord.from_dict(data)


def test_malformed_json_names_the_source():
    with pytest.raises(ContractError, match=r"^a\.json: <json>: not valid JSON"):
        SampleRecord.from_json("{nope", source="a.json")


def test_sample_keys_follow_the_architecture():
    record = make_record()
    key = sample_key(record.camera_id, record.captured_at, record.sample_id, "jpg")
    assert key == f"samples/lobby-cam-1/2026-11-23/{record.sample_id}.jpg"
    assert parse_sample_key(key) == ("lobby-cam-1", "2026-11-23", record.sample_id, "jpg")
    with pytest.raises(ContractError):
        parse_sample_key("samples/../etc/passwd.jpg")
