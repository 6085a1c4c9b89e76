"""The simulated annotator (a simulation, not a person): reviews the demo's Label Studio tasks through
Label Studio's API, the path real reviewers' submissions take, drawing the generator's ground truth.

For each task without an annotation it reads the sample's record from the store (camera and frame
index), looks up that frame's ground-truth boxes in the camera's clip, and submits them as the
task's annotation. A frame whose truth has no face is skipped (``was_cancelled``), as a reviewer
would skip an empty frame. Nothing here touches maskops' own label code: ``reviewed_labels`` pulls
these annotations like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from maskops_assets.datasets.annotations import ImageAnnotation
from maskops_assets.datasets.labelstudio import task_result
from maskops_assets.demo.camera import Clip
from maskops_assets.labelstudio.client import LabelStudioClient
from maskops_assets.labelstudio.project import FROM_NAME, TO_NAME
from maskops_assets.synthetic.video import read_groundtruth
from maskops_contracts import SampleRecord
from maskops_contracts.classes import CLASS_NAMES

#: The annotation's lead time (seconds a reviewer "spent"): marks it in Label Studio's UI as quick work.
LEAD_TIME_S = 1.0


@dataclass
class SimulatedAnnotator:
    """Reviews every unreviewed task of ``project_id`` with the clips' ground truth."""

    client: LabelStudioClient
    project_id: int
    clips: list[Clip]
    read_record: object  # (image_key) -> SampleRecord; the store's copy of the sample record
    reviewed: int = 0
    skipped: int = 0
    _truth: dict[str, list] = field(default_factory=dict)

    def truth(self, camera_id: str, frame_index: int) -> list:
        if camera_id not in self._truth:
            clip = next((c for c in self.clips if c.camera_id == camera_id), None)
            self._truth[camera_id] = read_groundtruth(clip.groundtruth) if clip else []
        frames = self._truth[camera_id]
        # a looped clip keeps counting frames: the same picture comes back every n_frames
        return frames[frame_index % len(frames)] if frames else []

    def result_for(self, record: SampleRecord) -> list[dict]:
        boxes = tuple(self.truth(record.camera_id, record.frame_index))
        image = ImageAnnotation(Path(f"{record.sample_id}.jpg"), record.width, record.height, boxes)
        return task_result(image, CLASS_NAMES, region_prefix="sim", from_name=FROM_NAME, to_name=TO_NAME)

    def review_open_tasks(self, limit: int | None = None) -> int:
        """Submit an annotation for each open task (at most ``limit``); returns how many were done."""
        done = 0
        for task in list(self.client.iter_tasks(self.project_id)):
            if limit is not None and done >= limit:
                break
            if task.get("total_annotations") or task.get("annotations"):
                continue
            record = self.read_record(task["data"]["image_key"])
            result = self.result_for(record)
            self.client.create_annotation(
                int(task["id"]), result, was_cancelled=not result, lead_time=LEAD_TIME_S
            )
            if result:
                self.reviewed += 1
            else:
                self.skipped += 1
            done += 1
        return done


def record_reader(store) -> object:
    """(image key) -> the sample record stored beside the image (``.json`` for ``.jpg``)."""

    def read(image_key: str) -> SampleRecord:
        key = image_key.rsplit(".", 1)[0] + ".json"
        return SampleRecord.from_json(store.get_bytes(key), source=key)

    return read
