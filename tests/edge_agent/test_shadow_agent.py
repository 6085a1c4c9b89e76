"""Shadow mode in the whole agent: two cameras read the same clip under a release whose shadow
names one of them. The shadow camera's comparisons reach the store under ``shadow/`` and its
/healthz and summary show them; the other camera reports none; and both cameras report and keep
exactly the same otherwise (a shadow never changes what a camera reports or keeps)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from edge_agent.agent import EdgeAgent
from edge_agent.config import load_config
from edge_agent.telemetry import parquet_to_rows, parquet_to_shadow_rows
from edge_agent.transport import LocalDirTransport
from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest, SampleRecord, model_key
from maskops_contracts.manifest import ShadowModel

UNCERTAIN = [((16.0, 16.0, 48.0, 48.0), (0.55, 0.40, 0.05))]


def _publish(store: LocalDirTransport, version: str, data: bytes) -> ModelRef:
    store.put(model_key(version), data, "application/octet-stream")
    return ModelRef(version, model_key(version), hashlib.sha256(data).hexdigest(), imgsz=64)


def test_the_shadow_camera_reports_agreement_and_both_cameras_report_and_keep_the_same(
    tmp_path: Path, make_video, make_yolo_onnx, write_agent_config
) -> None:
    root = tmp_path / "store"
    store = LocalDirTransport(root)
    data = make_yolo_onnx(UNCERTAIN, name="v1.onnx").read_bytes()
    champion = _publish(store, "v1", data)
    twin = _publish(store, "v1-twin", data)  # the same network under another version: full agreement
    shadow = ShadowModel(**twin.__dict__, cameras=("door",), frame_share=0.5)
    store.put(
        MANIFEST_KEY, ReleaseManifest("r1", champion, shadow=shadow).to_json().encode(), "application/json"
    )
    video = str(make_video(n_frames=20))
    path = write_agent_config(
        [
            {"camera_id": "door", "source": {"kind": "video", "uri": video}},
            {"camera_id": "hall", "source": {"kind": "video", "uri": video}},
        ],
        {"kind": "local", "root": str(root)},
        model_sync={"first_model_wait_s": 600},
    )
    summary = EdgeAgent(load_config(path), until_sources_end=True).run()
    door, hall = summary["cameras"]["door"], summary["cameras"]["hall"]
    assert door["frames_analysed"] == hall["frames_analysed"] == 20
    assert door["shadow"]["model_version"] == "v1-twin" and door["shadow"]["frames_offered"] == 10
    assert door["shadow"]["frames_compared"] >= 1 and door["shadow"]["agreement"] == 1.0
    assert "shadow" not in hall

    shadow_rows = {
        cam: [
            r for f in root.glob(f"shadow/{cam}/*/*.parquet") for r in parquet_to_shadow_rows(f.read_bytes())
        ]
        for cam in ("door", "hall")
    }
    assert shadow_rows["hall"] == []
    assert len(shadow_rows["door"]) == door["shadow"]["frames_compared"]
    assert all(r.agreement == 1.0 and r.shadow_model_version == "v1-twin" for r in shadow_rows["door"])

    def reported(cam: str):
        rows = [r for f in root.glob(f"telemetry/{cam}/*/*.parquet") for r in parquet_to_rows(f.read_bytes())]
        # a clip's timestamps start at the time it is opened: compare what was seen, not when
        return sorted(
            (r.brightness, r.blur, r.num_detections, r.mean_confidence, r.model_version, r.runtime)
            for r in rows
        )

    def kept(cam: str):
        records = [SampleRecord.from_json(f.read_bytes()) for f in root.glob(f"samples/{cam}/*/*.json")]
        return sorted((r.sample_id, r.reason.rule, r.frame_index) for r in records)

    assert len(reported("door")) == 20 and reported("door") == reported("hall")
    assert kept("door") and kept("door") == kept("hall")
