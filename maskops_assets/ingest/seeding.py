"""Play a camera without a camera: sample records from a synthetic clip, and a reviewer's export.

The demo and the tests use this to put realistic uploads in the store (``samples/...jpg`` +
``.json``, packaged by the same contract function the edge agent uses) and to stand in for a human
reviewer by writing the clip's ground truth for those samples as a YOLO export that
``reviewed_labels`` can import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2

from maskops_assets.datasets.annotations import AnnotationSet, BoxAnnotation, ImageAnnotation
from maskops_assets.datasets.yolo import write_yolo
from maskops_assets.store import ObjectStore
from maskops_contracts import Detection, SampleRecord, SamplingReason
from maskops_contracts.classes import CLASS_NAMES
from maskops_contracts.packaging import package_sample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeededSample:
    record: SampleRecord
    image_path: Path
    boxes: tuple[BoxAnnotation, ...]


def seed_samples_from_video(
    store: ObjectStore,
    work_dir: Path,
    *,
    n_frames: int = 60,
    every: int = 2,
    camera_id: str = "cam-demo",
    shifted: bool = True,
    seed: int = 0,
    size: tuple[int, int] = (160, 160),
    start: datetime | None = None,
) -> list[SeededSample]:
    """Render a clip, keep every ``every``-th frame as a sample and upload it as the edge agent would."""
    from maskops_assets.synthetic.domain import SceneDomain
    from maskops_assets.synthetic.video import generate_video, read_groundtruth

    work_dir.mkdir(parents=True, exist_ok=True)
    domain = SceneDomain.shifted() if shifted else SceneDomain.default()
    clip = generate_video(
        work_dir / f"{camera_id}.avi", n_frames=n_frames, domain=domain, seed=seed, size=size
    )
    truth = read_groundtruth(clip.groundtruth)
    start = start or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    capture = cv2.VideoCapture(str(clip.video))
    seeded: list[SeededSample] = []
    frame_index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if frame_index % every == 0 and frame_index < len(truth):
                seeded.append(
                    _upload(
                        store, work_dir, frame, truth[frame_index], camera_id, frame_index, start, clip.video
                    )
                )
            frame_index += 1
    finally:
        capture.release()
    log.info("seeded %d samples from %s into %s", len(seeded), clip.video, store.describe())
    return seeded


def _upload(store, work_dir, frame, boxes, camera_id, frame_index, start, video) -> SeededSample:
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])  # the agent's quality
    if not ok:
        raise RuntimeError(f"could not encode frame {frame_index} of {video} as JPEG")
    height, width = frame.shape[:2]
    # The "model" that kept the frame is unsure: a low, flat confidence on the true class.
    detections = tuple(
        Detection(
            box=(b.x1, b.y1, b.x2, b.y2),
            class_name=b.class_name,
            confidence=0.45,
            class_probs=tuple(0.45 if name == b.class_name else 0.275 for name in CLASS_NAMES),
        )
        for b in boxes
    )
    # packaged exactly as the edge agent packages a kept frame (one function, in the contracts)
    packaged = package_sample(
        encoded.tobytes(),
        camera_id=camera_id,
        captured_at=start + timedelta(seconds=frame_index / 15),
        source=str(video),
        frame_index=frame_index,
        model_version="seed-model",
        reason=SamplingReason("uncertainty_band", 0.45),
        width=width,
        height=height,
        detections=detections,
    )
    for part in packaged.parts:
        store.put_bytes(part.key, part.data, part.content_type)
    jpeg = packaged.parts[0].data
    local = work_dir / "frames" / f"{packaged.record.sample_id}.jpg"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(jpeg)
    return SeededSample(record=packaged.record, image_path=local, boxes=tuple(boxes))


def write_review_export(samples: list[SeededSample], out_dir: Path) -> Path:
    """The reviewer's work, as a YOLO export named by sample id; returns the export folder."""
    annotations = AnnotationSet(
        images=[
            ImageAnnotation(
                image=s.image_path, width=s.record.width, height=s.record.height, boxes=s.boxes, split="train"
            )
            for s in samples
        ]
    )
    write_yolo(annotations, out_dir)
    return out_dir
