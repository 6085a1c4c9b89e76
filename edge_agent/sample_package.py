"""A kept frame as the outbox wants it: encoded here, packaged by the contract's ``package_sample``."""

from __future__ import annotations

import cv2

from edge_agent.detector.types import DetectionResult
from edge_agent.frames import Frame
from edge_agent.outbox import OutboxPart
from edge_agent.sampler import SamplingDecision
from maskops_contracts import ContractError
from maskops_contracts.packaging import package_sample as package_for_store


def package_sample(
    camera_id: str,
    frame: Frame,
    result: DetectionResult,
    keep: SamplingDecision,
    model_version: str,
    *,
    jpeg_quality: int = 90,
) -> list[OutboxPart]:
    """The outbox parts of one kept frame (.jpg and .json); RuntimeError naming the frame when
    it cannot be encoded or its record breaks the contract."""
    ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding of frame {frame.index} failed")
    try:
        packaged = package_for_store(
            buf.tobytes(),
            camera_id=camera_id,
            captured_at=frame.captured_at,
            source=frame.source,
            frame_index=frame.index,
            model_version=model_version,
            reason=keep.reason,
            width=frame.width,
            height=frame.height,
            detections=result.detections,
        )
    except ContractError as err:
        raise RuntimeError(f"sample record of frame {frame.index} breaks the contract: {err}") from err
    return [OutboxPart(part.key, part.data, part.content_type) for part in packaged.parts]
