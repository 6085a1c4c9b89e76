import itertools
import json
from pathlib import Path

import cv2
import pytest

from maskops_assets.synthetic.domain import SceneDomain
from maskops_assets.synthetic.video import generate_video, read_groundtruth


def _count_frames(path: Path) -> tuple[int, tuple[int, int]]:
    capture = cv2.VideoCapture(str(path))
    frames, shape = 0, (0, 0)
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames += 1
        shape = frame.shape[1], frame.shape[0]
    capture.release()
    return frames, shape


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_video_has_every_frame_and_a_truth_line_per_frame(tmp_path: Path, suffix: str) -> None:
    result = generate_video(tmp_path / f"clip{suffix}", n_frames=12, fps=10, seed=2, size=(96, 80))
    assert result.groundtruth == tmp_path / "clip.groundtruth.jsonl"
    assert _count_frames(result.video) == (12, (96, 80))
    lines = result.groundtruth.read_text().splitlines()
    assert [json.loads(line)["frame_index"] for line in lines] == list(range(12))


def test_faces_drift_slowly_and_stay_in_frame(tmp_path: Path) -> None:
    domain = SceneDomain(faces_per_image=(3, 3), face_scale=(0.25, 0.3))
    result = generate_video(tmp_path / "clip.mp4", n_frames=40, domain=domain, seed=4, size=(120, 120))
    frames = read_groundtruth(result.groundtruth)
    assert len(frames) == 40
    classes = [box.class_name for box in frames[0]]
    moved = False
    for before, after in itertools.pairwise(frames):
        assert [box.class_name for box in after] == classes  # the same people, in the same order
        for a, b in zip(before, after, strict=True):
            assert abs(a.x1 - b.x1) <= 2 and abs(a.y1 - b.y1) <= 2  # slow drift, no jumps
            moved = moved or (a.x1, a.y1) != (b.x1, b.y1)
            assert 0 <= b.x1 < b.x2 <= 120 and 0 <= b.y1 < b.y2 <= 120
    assert moved


def test_same_seed_same_truth(tmp_path: Path) -> None:
    a = generate_video(tmp_path / "a.avi", n_frames=5, seed=9, size=64)
    b = generate_video(tmp_path / "b.avi", n_frames=5, seed=9, size=64)
    assert a.groundtruth.read_text() == b.groundtruth.read_text()


def test_unsupported_container_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.mp4, \.avi"):
        generate_video(tmp_path / "clip.mkv", n_frames=2)


def test_broken_truth_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.groundtruth.jsonl"
    path.write_text('{"frame_index": 0, "boxes": []}\n{"frame_index": 5, "boxes": []}\n')
    with pytest.raises(ValueError, match=r"x\.groundtruth\.jsonl:2"):
        read_groundtruth(path)
