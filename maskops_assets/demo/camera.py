"""The demo's camera box: generated domain-B clips (with their ground truth) and the edge agent's config.

Each camera watches its own clip of ``SceneDomain.shifted()`` (dim, blue, blurry, smaller faces,
unseen mask colours), played in a loop at its recorded pace. The ground truth the generator wrote
beside each clip is what the simulated annotator "sees" (``annotator.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from maskops_assets.demo.settings import DemoSettings
from maskops_assets.synthetic.domain import SceneDomain
from maskops_assets.synthetic.video import generate_video, groundtruth_path

AGENT_ID = "demo-box"
#: One seed per camera, away from the seeds the dataset and evaluation sets use.
CLIP_SEED = 7000


@dataclass(frozen=True)
class Clip:
    camera_id: str
    video: Path
    groundtruth: Path
    n_frames: int


def make_clips(settings: DemoSettings, out_dir: Path) -> list[Clip]:
    """One domain-B clip per camera (kept: a second demo reuses them)."""
    clips = []
    for i, camera_id in enumerate(settings.cameras):
        video = out_dir / f"{camera_id}-{settings.clip_frames}f-{settings.imgsz * 2}px.mp4"
        if not (video.exists() and groundtruth_path(video).exists()):
            generate_video(
                video,
                n_frames=settings.clip_frames,
                fps=settings.clip_fps,
                domain=SceneDomain.shifted(),
                seed=CLIP_SEED + i,
                size=(settings.imgsz * 2, settings.imgsz * 3 // 2),
            )
        clips.append(Clip(camera_id, video, groundtruth_path(video), settings.clip_frames))
    return clips


def agent_config(settings: DemoSettings, clips: list[Clip], data_dir: Path) -> dict:
    """The agent's YAML (as a dict): local store, fast model polls, demo-sized sampler caps."""
    cameras = [
        {
            "camera_id": clip.camera_id,
            "source": {"kind": "video", "uri": str(clip.video.resolve()), "loop": True, "realtime": True},
            "gate": {"target_fps": settings.analyse_fps},
            "sampler": {
                "uncertainty_band": [0.25, 0.7],
                "margin": 0.15,
                "random_rate": settings.random_rate,
                "max_per_minute": 60,
                "max_per_hour": settings.samples_per_camera,
                "dedup_window_s": 2.0,
            },
        }
        for clip in clips
    ]
    return {
        "agent_id": AGENT_ID,
        "data_dir": str(data_dir.resolve()),
        "cameras": cameras,
        "detector": {"threads": 1, "conf_threshold": 0.25},
        "store": {"kind": "local", "root": str(settings.store_root.resolve())},
        "outbox": {"retry_initial_s": 1, "retry_max_s": 5},
        "model_sync": {
            "poll_interval_s": settings.model_poll_s,
            "first_model_wait_s": settings.model_poll_s * 4,
        },
        "telemetry": {"batch_seconds": settings.telemetry_seconds},
        "status_interval_s": settings.telemetry_seconds,
        "http": {"host": "127.0.0.1", "port": settings.agent_port},
        "log": {"level": "INFO", "format": "json"},
    }


def write_agent_config(settings: DemoSettings, clips: list[Clip], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "agent.yaml"
    path.write_text(yaml.safe_dump(agent_config(settings, clips, out_dir / "edge"), sort_keys=False))
    return path
