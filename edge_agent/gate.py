"""The frame gate: decides which frames are worth running the model on.

Two checks, cheapest first: an fps cap (so a 30 fps camera costs at most ``target_fps``
inferences a second) and, optionally, motion against the last analysed frame (a static
scene is not analysed again and again). A heartbeat still lets a frame through every
``heartbeat_s`` so telemetry keeps flowing and a person standing still is seen.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge_agent.frames import Frame

GateReason = Literal["fps_cap", "no_motion", "motion", "heartbeat", "admitted"]

# A clock jump backwards larger than this (a looping video, an NTP correction) resets the gate.
_BACKWARDS_RESET_S = 1.0
# Float slack so a 30 fps source with a 30 fps cap is not dropped by rounding.
_DUE_SLACK_S = 1e-3


class GateConfig(BaseModel):
    """Which frames get analysed.

    target_fps: the most frames per second analysed (0 = no cap).
    realtime: False (default) spaces frames by their own ``captured_at``, so a video file
      read faster than real time is still analysed at ``target_fps`` of its recorded time;
      True spaces them by this box's clock at admission.
    motion: only analyse frames that changed; motion_threshold is the fraction of pixels
      (0..1) whose grey level moved by more than motion_pixel_delta since the last analysed frame.
    heartbeat_s: with motion on, still analyse a frame this often (0 = never).
    """

    model_config = ConfigDict(extra="forbid")

    target_fps: float = Field(5.0, ge=0.0)
    realtime: bool = False
    motion: bool = False
    motion_threshold: float = Field(0.01, ge=0.0, le=1.0)
    motion_pixel_delta: int = Field(25, ge=1, le=255)
    motion_width: int = Field(64, ge=8, le=640)
    heartbeat_s: float = Field(10.0, ge=0.0)


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Whether to analyse a frame, and why. motion_score is 0 when motion is not checked."""

    analyse: bool
    reason: GateReason
    motion_score: float = 0.0


@dataclass
class GateStats:
    """How many frames each reason accounted for."""

    counts: Counter[str] = field(default_factory=Counter)

    @property
    def analysed(self) -> int:
        return self.counts["motion"] + self.counts["heartbeat"] + self.counts["admitted"]

    @property
    def skipped(self) -> int:
        return self.counts["fps_cap"] + self.counts["no_motion"]


class FrameGate:
    """Admits frames of one camera. Not thread-safe: one gate per camera worker."""

    def __init__(self, cfg: GateConfig) -> None:
        self.cfg = cfg
        self.stats = GateStats()
        self._interval = 1.0 / cfg.target_fps if cfg.target_fps > 0 else 0.0
        self._next_due: float | None = None
        self._last_t: float | None = None
        self._last_analysed_t: float | None = None
        self._reference: np.ndarray | None = None

    def reset(self) -> None:
        """Forget history (after a reconnect the next frame is compared with nothing)."""
        self._next_due = None
        self._last_t = None
        self._last_analysed_t = None
        self._reference = None

    def admit(self, frame: Frame) -> GateDecision:
        t = time.monotonic() if self.cfg.realtime else frame.captured_at.timestamp()
        if self._last_t is not None and t < self._last_t - _BACKWARDS_RESET_S:
            self.reset()
        self._last_t = t
        decision = self._decide(frame, t)
        self.stats.counts[decision.reason] += 1
        return decision

    def _decide(self, frame: Frame, t: float) -> GateDecision:
        if self._interval and self._next_due is not None and t < self._next_due - _DUE_SLACK_S:
            return GateDecision(False, "fps_cap")
        if not self.cfg.motion:
            self._mark_analysed(t)
            return GateDecision(True, "admitted")

        small = self._small_grey(frame.image)
        if self._reference is None:
            score = 1.0  # nothing to compare with: everything is new
        else:
            moved = cv2.absdiff(small, self._reference) > self.cfg.motion_pixel_delta
            score = float(np.count_nonzero(moved)) / moved.size
        if self._reference is None or score >= self.cfg.motion_threshold:
            self._reference = small
            self._mark_analysed(t)
            return GateDecision(True, "motion", score)
        heartbeat = self.cfg.heartbeat_s
        if heartbeat > 0 and self._last_analysed_t is not None and t - self._last_analysed_t >= heartbeat:
            self._reference = small
            self._mark_analysed(t)
            return GateDecision(True, "heartbeat", score)
        return GateDecision(False, "no_motion", score)

    def _mark_analysed(self, t: float) -> None:
        self._last_analysed_t = t
        if not self._interval:
            return
        # Schedule on a grid (due += interval) so a 25 fps source capped at 10 fps averages 10,
        # not 8.3; after a long gap start the grid again from now instead of bursting.
        if self._next_due is None or t - self._next_due > self._interval:
            self._next_due = t + self._interval
        else:
            self._next_due += self._interval

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        width = min(self.cfg.motion_width, w)
        height = max(1, round(h * width / w))
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        small = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
        # A light blur so sensor noise does not count as motion.
        return cv2.GaussianBlur(small, (3, 3), 0)
