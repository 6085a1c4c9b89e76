"""Shadow mode: a candidate model runs beside a camera's model on a share of frames, only to compare.

The release manifest may name a ``shadow`` model for some cameras and a ``frame_share``
(``maskops_contracts.ShadowModel``). Model sync downloads it (sha256-checked, like the camera's
model), loads it on its own (``ShadowConfig.threads``, one stream) and puts it in the camera's
``ShadowSlot``. The camera worker, once it has finished a frame on its own model, offers the frame
and its result to the camera's ``ShadowWorker``: every frame its ``FrameShare`` picks goes into a
queue of ``queue_size`` (1 or 2) frames, or, when the queue is full, is dropped and counted. The
camera thread never waits for the shadow model; a slow shadow costs shadow frames, not camera
frames.

The worker's own thread runs the shadow model on each queued frame, compares its boxes with the
camera model's (``edge_agent.shadow_compare``), batches one ``ShadowRow`` per compared frame under
``shadow/<camera>/<day>/`` (``edge_agent.telemetry.shadow_batcher``) and keeps the frames where the
two disagree most as samples (rule ``shadow_disagreement``): those whose disagreement reaches
``min_disagreement``, on budgets of their own, packaged with the camera model's boxes, unless the
camera kept the frame by its own rules already. Nothing here
changes what the camera reports or keeps otherwise: its telemetry rows, samples, sampler budgets
and model are untouched.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.detector.types import DetectionResult, Detector
from edge_agent.frames import Frame
from edge_agent.logs import OnceLogger, log_event
from edge_agent.metrics import AgentMetrics
from edge_agent.outbox import Outbox
from edge_agent.priority import lower_this_thread
from edge_agent.sample_package import package_sample
from edge_agent.sampler import Sampler, SamplerConfig
from edge_agent.shadow_compare import FrameComparison, compare_detections
from edge_agent.telemetry import TelemetryBatcher
from maskops_contracts.telemetry import ShadowRow

logger = logging.getLogger("edge_agent.shadow")

#: The sampling rule of frames kept because the shadow and the camera's model disagree on them.
SHADOW_RULE = "shadow_disagreement"


class ShadowConfig(BaseModel):
    """How this agent runs the shadow model a release names (the release says which cameras and
    which share of their frames).

    queue_size: shadow frames waiting for the shadow model (1 or 2); a frame offered when the
    queue is full is dropped and counted, never waited for. threads: threads the shadow model
    runs on (one stream). min_disagreement: a compared frame whose disagreement (boxes the
    models do not agree on, over every box either found) reaches this is kept as a sample, within
    ``max_samples_per_minute`` / ``max_samples_per_hour``. sample_priority: a kept frame's outbox
    priority is this times its disagreement: below the camera's own samples by default, so a full
    outbox evicts shadow samples first. nice: the nice value the shadow model is loaded and run at
    (Linux; ``edge_agent.priority``), 19 by default: on a box the cameras keep busy it gets only the
    CPU they leave, and its frames are dropped and counted rather than slowing a camera down; 0
    runs it at the cameras' priority.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    queue_size: int = Field(1, ge=1, le=2)
    threads: int = Field(1, ge=1)
    min_disagreement: float = Field(0.5, gt=0.0, le=1.0)
    max_samples_per_minute: int | None = Field(2, ge=0)
    max_samples_per_hour: int | None = Field(30, ge=0)
    sample_priority: float = Field(0.1, ge=0.0, le=1.0)
    nice: int = Field(19, ge=0, le=19)


@dataclass(frozen=True)
class ActiveShadow:
    """The shadow model a camera compares with, loaded, and the share of frames it runs on."""

    detector: Detector
    model_version: str
    sha256: str
    frame_share: float
    release_id: str


class ShadowSlot:
    """A camera's shadow model, or None; set by model sync, read by the camera's shadow worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: ActiveShadow | None = None

    def current(self) -> ActiveShadow | None:
        with self._lock:
            return self._active

    def set(self, active: ActiveShadow | None) -> ActiveShadow | None:
        """Install ``active`` (None: no shadow); returns what it replaced."""
        with self._lock:
            old, self._active = self._active, active
            return old


class FrameShare:
    """Picks ``share`` of the frames it is asked about, evenly and deterministically: the n-th
    frame is picked when floor(n x share) grows (share 0.1: frames 10, 20, 30...)."""

    def __init__(self) -> None:
        self._seen = 0

    def take(self, share: float) -> bool:
        self._seen += 1
        return math.floor(self._seen * share + 1e-9) > math.floor((self._seen - 1) * share + 1e-9)

    def reset(self) -> None:
        self._seen = 0


@dataclass
class ShadowCounters:
    """What one camera's shadow worker did with one shadow model (``shadow``: its model version
    and sha256) since it started comparing it, and the figures it summed. A release naming
    another shadow model starts new counters, so the agreement is always one model's."""

    shadow: tuple[str, str] | None = None
    offered: int = 0
    compared: int = 0
    dropped: int = 0
    failed: int = 0
    samples_kept: int = 0
    champion_boxes: int = 0
    shadow_boxes: int = 0
    matched: int = 0
    class_agreed: int = 0
    confidence_delta_sum: float = 0.0
    class_mismatches: dict[str, int] = field(default_factory=dict)

    def add(self, comparison: FrameComparison) -> None:
        self.compared += 1
        self.champion_boxes += comparison.champion_boxes
        self.shadow_boxes += comparison.shadow_boxes
        self.matched += comparison.matched
        self.class_agreed += comparison.class_agreed
        self.confidence_delta_sum += comparison.mean_confidence_delta * comparison.matched
        for name, count in comparison.class_mismatches.items():
            self.class_mismatches[name] = self.class_mismatches.get(name, 0) + count

    @property
    def agreement(self) -> float | None:
        """Boxes both models found with the same class, over every box either found (None before
        a compared frame had a box)."""
        union = self.champion_boxes + self.shadow_boxes - self.matched
        return None if union == 0 else self.class_agreed / union


@dataclass(slots=True)
class _Job:
    frame: Frame
    champion: DetectionResult
    model_version: str
    shadow: ActiveShadow
    dropped_before: int
    #: the camera kept this frame by its own rules (then it is not kept again as a shadow sample)
    kept: bool = False


_STOP = object()


class ShadowWorker:
    """One camera's shadow model runner: ``offer`` from the camera thread, the work on its own."""

    def __init__(
        self,
        camera_id: str,
        slot: ShadowSlot,
        cfg: ShadowConfig,
        batcher: TelemetryBatcher,
        outbox: Outbox,
        metrics: AgentMetrics,
        *,
        sampler_cfg: SamplerConfig | None = None,
        jpeg_quality: int = 90,
    ) -> None:
        self.camera_id = camera_id
        self.slot = slot
        self.cfg = cfg
        self.batcher = batcher
        self.outbox = outbox
        self.jpeg_quality = jpeg_quality
        self.counters = ShadowCounters()
        self._queue: queue.Queue[_Job | object] = queue.Queue(maxsize=cfg.queue_size)
        self._share = FrameShare()
        self._share_of: tuple[str, str] | None = None  # the shadow the share counts frames for
        self._dropped_since = 0  # camera thread only
        self._lock = threading.Lock()  # counters: written by both threads, read by /healthz
        self._stopping = threading.Event()
        # the camera's rule settings, with shadow mode's own budgets
        base = sampler_cfg or SamplerConfig()
        self.sampler = Sampler(
            base.model_copy(
                update={
                    "max_per_minute": cfg.max_samples_per_minute,
                    "max_per_hour": cfg.max_samples_per_hour,
                }
            ),
            camera_id,
        )
        self._once = OnceLogger(logger)
        self._compared = metrics.shadow_frames.labels(camera_id, "compared")
        self._dropped = metrics.shadow_frames.labels(camera_id, "dropped")
        self._failed = metrics.shadow_frames.labels(camera_id, "failed")
        self._samples_kept = metrics.samples_kept.labels(camera_id, SHADOW_RULE)
        self._thread = threading.Thread(target=self._run, name=f"shadow-{camera_id}", daemon=True)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the frames queued, then end the thread (after the camera has stopped offering).
        A shadow model still busy after ``timeout`` seconds is left behind (a daemon thread; its
        frames are lost, the camera's are not), so it never holds up the agent's shutdown."""
        if not self._thread.is_alive():
            return
        deadline = time.monotonic() + timeout
        self._stopping.set()  # ends the thread once the queue is empty, even without _STOP
        with contextlib.suppress(queue.Full):  # still busy: the join below waits out the rest
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log_event(
                logger,
                logging.WARNING,
                "shadow_not_finished",
                f"camera {self.camera_id}: the shadow model is still busy after {timeout:g} s; "
                "stopping without its last frames",
                camera_id=self.camera_id,
            )

    # ------------------------------------------------------------ camera thread
    def offer(
        self, frame: Frame, champion: DetectionResult, model_version: str, *, kept: bool = False
    ) -> bool:
        """Hand a finished frame to the shadow model if the share picks it and the queue has room;
        never blocks. True when queued. ``kept``: the camera kept the frame by its own rules."""
        shadow = self.slot.current()
        if shadow is None:
            return False
        which = (shadow.model_version, shadow.sha256)
        if which != self._share_of:
            self._share_of = which
            self._share.reset()
            with self._lock:  # another shadow model: its own counts and agreement
                self.counters = ShadowCounters(shadow=which)
        if not self._share.take(shadow.frame_share):
            return False
        with self._lock:
            self.counters.offered += 1
        try:
            self._queue.put_nowait(_Job(frame, champion, model_version, shadow, self._dropped_since, kept))
        except queue.Full:
            self._dropped_since += 1
            with self._lock:
                self.counters.dropped += 1
            self._dropped.inc()
            return False
        self._dropped_since = 0
        return True

    # ------------------------------------------------------------ shadow thread
    def _run(self) -> None:
        lower_this_thread(self.cfg.nice)  # the shadow gets the CPU the cameras leave
        while True:
            try:
                job = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            if job is _STOP:
                return
            assert isinstance(job, _Job)
            try:
                self.compare(job)
            except Exception as err:  # a shadow failure is the shadow's: counted, logged once
                with self._lock:
                    self._counters_of(job).failed += 1
                self._failed.inc()
                self._once.log(
                    logging.ERROR,
                    "shadow_failed",
                    type(err).__name__,
                    f"camera {self.camera_id}: shadow model {job.shadow.model_version} failed on frame "
                    f"{job.frame.index} ({err!r}); the camera is not affected (further failures are "
                    'counted in maskops_edge_shadow_frames_total{outcome="failed"})',
                    camera_id=self.camera_id,
                    shadow_model_version=job.shadow.model_version,
                )

    def compare(self, job: _Job) -> FrameComparison:
        """Run the shadow model on the job's frame, record the comparison, maybe keep the frame."""
        frame = job.frame
        shadow_result = job.shadow.detector.detect(frame.image)
        comparison = compare_detections(job.champion.detections, shadow_result.detections)
        self.batcher.add(
            ShadowRow(
                camera_id=self.camera_id,
                ts=frame.captured_at,
                model_version=job.model_version,
                shadow_model_version=job.shadow.model_version,
                champion_boxes=comparison.champion_boxes,
                shadow_boxes=comparison.shadow_boxes,
                matched=comparison.matched,
                class_agreed=comparison.class_agreed,
                champion_only=comparison.champion_only,
                shadow_only=comparison.shadow_only,
                mean_confidence_delta=max(-1.0, min(1.0, comparison.mean_confidence_delta)),
                class_mismatches=comparison.class_mismatches,
                dropped_before=job.dropped_before,
            )
        )
        with self._lock:
            self._counters_of(job).add(comparison)
        self._compared.inc()
        # a frame the camera kept already goes to labelling (and a sample's key is its content:
        # keeping it again would replace the camera's record of why it kept it)
        if comparison.disagreement >= self.cfg.min_disagreement and not job.kept:
            self._keep(job, comparison)
        return comparison

    def _keep(self, job: _Job, comparison: FrameComparison) -> None:
        priority = self.cfg.sample_priority * comparison.disagreement
        keep = self.sampler.admit(job.frame, SHADOW_RULE, comparison.disagreement, priority)
        if keep is None:
            return
        parts = package_sample(
            self.camera_id, job.frame, job.champion, keep, job.model_version, jpeg_quality=self.jpeg_quality
        )
        if self.outbox.enqueue("sample", parts, keep.priority):
            with self._lock:
                self._counters_of(job).samples_kept += 1
            self._samples_kept.inc()

    def _counters_of(self, job: _Job) -> ShadowCounters:
        """The counters of the job's shadow model (hold ``_lock``): the current ones, or, for a
        frame queued before a release changed the shadow, ones that are counted nowhere."""
        if self.counters.shadow == (job.shadow.model_version, job.shadow.sha256):
            return self.counters
        return ShadowCounters()

    # ------------------------------------------------------------ health
    def health(self) -> dict[str, object] | None:
        """This camera's shadow figures for /healthz (None when it has never had a shadow)."""
        shadow = self.slot.current()
        with self._lock:
            c = self.counters
            if shadow is None and c.offered == 0:
                return None
            return {
                "model_version": shadow.model_version if shadow else None,
                "frame_share": shadow.frame_share if shadow else None,
                "frames_offered": c.offered,
                "frames_compared": c.compared,
                "frames_dropped": c.dropped,
                "frames_failed": c.failed,
                "boxes_matched": c.matched,
                "class_agreed": c.class_agreed,
                "champion_only": c.champion_boxes - c.matched,
                "shadow_only": c.shadow_boxes - c.matched,
                "agreement": None if c.agreement is None else round(c.agreement, 4),
                "mean_confidence_delta": round(c.confidence_delta_sum / c.matched, 4) if c.matched else None,
                "class_mismatches": dict(c.class_mismatches),
                "samples_kept": c.samples_kept,
            }
