"""A kept frame packaged for the store: its JPEG under a content-derived key and its sample record.

Beside the sample contract because both sides write samples: the edge agent for every frame it
keeps, and the platform's seeding (the demo and tests playing a camera). One function, so a seeded
sample is byte-for-byte what an agent would upload for the same JPEG and record fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from maskops_contracts.keys import sample_key
from maskops_contracts.sample import Detection, SampleRecord, SamplingReason, content_sample_id


@dataclass(frozen=True)
class SamplePart:
    """One object of a sample: its key, bytes and content type."""

    key: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class PackagedSample:
    """The record and the two objects (``.jpg`` first, then ``.json``) of one kept frame."""

    record: SampleRecord
    parts: tuple[SamplePart, SamplePart]


def package_sample(
    jpeg: bytes,
    *,
    camera_id: str,
    captured_at: datetime,
    source: str,
    frame_index: int,
    model_version: str,
    reason: SamplingReason,
    width: int,
    height: int,
    detections: Iterable[Detection],
) -> PackagedSample:
    """Name the JPEG by its content, build the record (``ContractError`` when a field breaks the
    contract) and return both objects under their ``samples/<camera>/<day>/<id>`` keys."""
    sample_id = content_sample_id(jpeg)
    record = SampleRecord(
        camera_id=camera_id,
        sample_id=sample_id,
        captured_at=captured_at,
        source=source,
        frame_index=frame_index,
        model_version=model_version,
        reason=reason,
        width=width,
        height=height,
        detections=tuple(detections),
    )
    return PackagedSample(
        record,
        (
            SamplePart(sample_key(camera_id, record.date, sample_id, "jpg"), jpeg, "image/jpeg"),
            SamplePart(
                sample_key(camera_id, record.date, sample_id, "json"),
                record.to_json().encode("utf-8"),
                "application/json",
            ),
        ),
    )
