"""The frame gate: fps cap on capture time, motion against the last analysed frame, heartbeat."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from edge_agent.frames import Frame
from edge_agent.gate import FrameGate, GateConfig

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _frame(i: int, fps: float, image: np.ndarray | None = None) -> Frame:
    img = image if image is not None else np.zeros((48, 64, 3), np.uint8)
    return Frame("cam", i, img, T0 + timedelta(seconds=i / fps), "clip.mp4")


def test_fps_cap_spaces_frames_by_capture_time():
    gate = FrameGate(GateConfig(target_fps=5.0))
    decisions = [gate.admit(_frame(i, fps=30.0)) for i in range(60)]  # 2 s of video
    analysed = [i for i, d in enumerate(decisions) if d.analyse]
    assert analysed == list(range(0, 60, 6))
    assert {d.reason for d in decisions} == {"admitted", "fps_cap"}
    assert gate.stats.analysed == 10 and gate.stats.skipped == 50


def test_fps_cap_averages_the_target_when_it_does_not_divide_the_source_rate():
    gate = FrameGate(GateConfig(target_fps=10.0))
    analysed = sum(gate.admit(_frame(i, fps=25.0)).analyse for i in range(250))  # 10 s
    assert analysed == pytest.approx(100, abs=1)


def test_no_cap_admits_every_frame():
    gate = FrameGate(GateConfig(target_fps=0))
    assert all(gate.admit(_frame(i, fps=1000.0)).analyse for i in range(50))


def test_a_clock_going_backwards_restarts_the_schedule():
    gate = FrameGate(GateConfig(target_fps=1.0))
    assert gate.admit(_frame(100, fps=1.0)).analyse
    assert gate.admit(_frame(0, fps=1.0)).analyse  # a looping file started again


def _scene(x: int) -> np.ndarray:
    image = np.full((48, 64, 3), 50, np.uint8)
    image[10:30, x : x + 20] = 230
    return image


def test_motion_skips_a_static_scene_and_admits_change():
    gate = FrameGate(GateConfig(target_fps=0, motion=True, motion_threshold=0.02, heartbeat_s=0))
    first = gate.admit(_frame(0, 10.0, _scene(5)))
    assert (first.analyse, first.reason) == (True, "motion")
    still = [gate.admit(_frame(i, 10.0, _scene(5))) for i in range(1, 20)]
    assert all(not d.analyse and d.reason == "no_motion" and d.motion_score == 0.0 for d in still)
    moved = gate.admit(_frame(20, 10.0, _scene(35)))
    assert moved.analyse and moved.reason == "motion" and moved.motion_score >= 0.02


def test_slow_drift_accumulates_against_the_last_analysed_frame():
    gate = FrameGate(GateConfig(target_fps=0, motion=True, motion_threshold=0.05, heartbeat_s=0))
    reasons = [gate.admit(_frame(i, 10.0, _scene(5 + i))).reason for i in range(30)]
    # One pixel a frame is below the threshold, but the difference grows until it is not.
    assert reasons[1] == "no_motion"
    assert reasons.count("motion") >= 3


def test_heartbeat_admits_a_static_scene_periodically():
    gate = FrameGate(GateConfig(target_fps=0, motion=True, heartbeat_s=2.0))
    decisions = [gate.admit(_frame(i, 10.0, _scene(5))) for i in range(61)]  # 6 s of a still scene
    admitted = [(i, d.reason) for i, d in enumerate(decisions) if d.analyse]
    assert admitted == [(0, "motion"), (20, "heartbeat"), (40, "heartbeat"), (60, "heartbeat")]


def test_fps_cap_applies_before_motion():
    gate = FrameGate(GateConfig(target_fps=2.0, motion=True, motion_threshold=0.0))
    reasons = [gate.admit(_frame(i, 10.0, _scene(i))).reason for i in range(10)]
    assert reasons == ["motion"] + ["fps_cap"] * 4 + ["motion"] + ["fps_cap"] * 4


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError, match="fps"):
        GateConfig(fps=5)
