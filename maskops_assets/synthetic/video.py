"""Short synthetic camera clips with per-frame ground truth.

A clip is one scene whose faces drift slowly and bounce off the frame edges and
each other, under one camera look (fresh sensor noise every frame), so it plays
like a fixed camera watching people shuffle about. Beside ``clip.mp4`` goes
``clip.groundtruth.jsonl``, one JSON line per frame::

    {"frame_index": 0, "width": 320, "height": 240,
     "boxes": [{"track_id": 0, "class_name": "with_mask", "class_id": 0, "xyxy": [x1, y1, x2, y2]}]}

Boxes are pixel xyxy, bottom-right exclusive, exactly as in the still images.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskops_assets.datasets.annotations import BoxAnnotation
from maskops_assets.synthetic.backgrounds import render_background
from maskops_assets.synthetic.camera import apply_camera_look, sample_camera_look
from maskops_assets.synthetic.domain import SceneDomain
from maskops_assets.synthetic.scenes import PlacedFace, boxes_overlap, compose, place_faces
from maskops_contracts.classes import class_index

log = logging.getLogger(__name__)

# Container by file suffix: mp4v plays nearly everywhere, MJPG is what OpenCV writes most reliably to AVI.
FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".avi": "MJPG"}
# Drift speed in pixels per frame: slow enough to read as people standing, not running.
_SPEED = (0.2, 1.0)


@dataclass(frozen=True)
class VideoResult:
    video: Path
    groundtruth: Path
    n_frames: int


def groundtruth_path(video_path: Path | str) -> Path:
    """``clip.mp4`` -> ``clip.groundtruth.jsonl`` in the same folder."""
    video_path = Path(video_path)
    return video_path.with_name(f"{video_path.stem}.groundtruth.jsonl")


def generate_video(
    out_path: Path | str,
    *,
    n_frames: int,
    fps: float = 15.0,
    domain: SceneDomain | None = None,
    seed: int = 0,
    size: int | tuple[int, int] = (320, 240),
) -> VideoResult:
    """Write a clip of ``n_frames`` to ``out_path`` (.mp4 or .avi) and its ground truth beside it."""
    out_path = Path(out_path)
    fourcc = FOURCC_BY_SUFFIX.get(out_path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"{out_path}: unsupported video type; use one of {', '.join(FOURCC_BY_SUFFIX)}")
    if n_frames < 1 or fps <= 0:
        raise ValueError(f"need n_frames >= 1 and fps > 0, got n_frames={n_frames}, fps={fps}")
    domain = domain or SceneDomain.default()
    width, height = (size, size) if isinstance(size, int) else size
    out_path.parent.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(
        np.random.SeedSequence([seed, 0x7669646F])
    )  # "vido": apart from image streams
    kind = domain.backgrounds[int(rng.integers(len(domain.backgrounds)))]
    background = render_background(kind, rng, width, height)
    look = sample_camera_look(domain, rng)
    crowd = _Crowd(place_faces(domain, rng, width, height), rng, width, height)

    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter.fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{out_path}: OpenCV cannot write {fourcc} video here (is the folder writable?)")
    truth_path = groundtruth_path(out_path)
    report_every = max(1, n_frames // 10)
    try:
        with truth_path.open("w", encoding="utf-8") as truth:
            for frame_index in range(n_frames):
                faces = crowd.faces()
                writer.write(apply_camera_look(compose(background, faces), look, rng))
                truth.write(json.dumps(_truth_line(frame_index, width, height, faces)) + "\n")
                crowd.step()
                if (frame_index + 1) % report_every == 0:
                    log.info("wrote frame %d/%d", frame_index + 1, n_frames)
    finally:
        writer.release()
    log.info(
        "video ready: %s (%d frames, %d faces), ground truth %s",
        out_path,
        n_frames,
        len(crowd.faces()),
        truth_path,
    )
    return VideoResult(video=out_path, groundtruth=truth_path, n_frames=n_frames)


def read_groundtruth(path: Path | str) -> list[list[BoxAnnotation]]:
    """The boxes of every frame, in frame order, from a ``.groundtruth.jsonl`` file."""
    path = Path(path)
    frames: list[list[BoxAnnotation]] = []
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                if record["frame_index"] != len(frames):
                    raise ValueError(f"frame_index {record['frame_index']}, expected {len(frames)}")
                frames.append(
                    [BoxAnnotation(*box["xyxy"], class_name=box["class_name"]) for box in record["boxes"]]
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{line_number}: not a ground-truth line ({exc})") from None
    return frames


class _Crowd:
    """Faces with float positions and velocities; each step moves them without ever overlapping."""

    def __init__(self, faces: list[PlacedFace], rng: np.random.Generator, width: int, height: int) -> None:
        self._faces = faces
        self._positions = np.array([[f.x1, f.y1] for f in faces], np.float64).reshape(-1, 2)
        speed = rng.uniform(*_SPEED, size=len(faces))
        heading = rng.uniform(0, 2 * np.pi, size=len(faces))
        self._velocities = np.stack([speed * np.cos(heading), speed * np.sin(heading)], axis=1)
        self._width = width
        self._height = height

    def faces(self) -> list[PlacedFace]:
        return list(self._faces)

    def step(self) -> None:
        for i, face in enumerate(self._faces):
            position = self._positions[i] + self._velocities[i]
            limits = (self._width - face.width, self._height - face.height)
            for axis in (0, 1):
                if not 0 <= position[axis] <= limits[axis]:
                    self._velocities[i, axis] *= -1
                    position[axis] = np.clip(position[axis], 0, limits[axis])
            moved = face.moved_to(round(position[0]), round(position[1]))
            if any(boxes_overlap(moved, other) for j, other in enumerate(self._faces) if j != i):
                # Two people about to bump: this one turns round and waits a frame.
                self._velocities[i] *= -1
                continue
            self._positions[i] = position
            self._faces[i] = moved


def _truth_line(frame_index: int, width: int, height: int, faces: list[PlacedFace]) -> dict[str, object]:
    return {
        "frame_index": frame_index,
        "width": width,
        "height": height,
        "boxes": [
            {
                "track_id": track_id,
                "class_name": face.style.class_name,
                "class_id": class_index(face.style.class_name),
                "xyxy": [face.x1, face.y1, face.x2, face.y2],
            }
            for track_id, face in enumerate(faces)
        ],
    }
