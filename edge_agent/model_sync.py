"""Model sync: follow the release manifest and hot-swap each camera's detector.

Every ``poll_interval_s`` the agent reads ``releases/manifest.json``, picks the model
each camera should run (``ReleaseManifest.model_for``: champion, or the canary for the
cameras it includes), downloads its ONNX file through the transport, checks the
sha256, loads and warms it up, and swaps it into that camera's ``ModelHolder``. A
camera worker reads its holder once per frame, so a swap happens between frames with
no restart and no frame lost.

A model that does not verify or load is refused: one log line, the
``maskops_edge_model_refusals_total{reason}`` counter, and the camera keeps its last
good model. So is a model this agent would run at a precision the release gate did not
measure (``detector.precision``, resolved against ``ModelRef.measured_precisions`` for the
agent's runtime; reason ``precision_not_measured``, or ``precision_not_offered`` when this
CPU lacks it): an explicit ``precision: bf16`` is neither run as fp32 behind the operator's
back nor run unmeasured. Where the release lists an INT8 model for this agent's runtime (OpenVINO)
and ``detector.precision`` is ``auto``, the camera runs that file (``model_int8.zip``, checked
against its own sha256) instead of the model; ``fp32`` forces the model file, and ONNX Runtime
runs it with one log line (``detector.variants.model_file``). Good models are cached under
``data_dir/models`` with a small ``active.json``, so after a restart the agent starts with what
it last ran even when the store is unreachable. The cache keeps, per camera, the model it runs
and the one it ran before (a rollback needs no download), plus the release's canary; every other
model file (superseded or refused) is removed after each poll.

A model object the manifest names but the store does not have (yet: the manifest was written
before the upload finished) is not refused for good: it is tried again with backoff
(``missing_retry_initial_s`` doubling up to ``missing_retry_max_s``), and the camera runs it as
soon as it is there. ``refusals`` lists, per camera, the model of the current manifest it does
not run and why (``/healthz``), while ``ModelHolder.current`` says what it runs.

A release's ``shadow`` model (``ReleaseManifest.shadow_for``) goes the same way into the
``ShadowSlot`` of each camera it names (downloaded, sha256-checked, loaded with
``ShadowConfig.threads`` on one stream, an instance of its own even where it is the camera's model
too), and out of it when a manifest no longer names it for that camera (``edge_agent.shadow``). A
shadow model that cannot be used is refused as a camera's model is (log line, counter) and the
camera runs no shadow; the camera's own model is never affected.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import platform
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.backoff import backoff_delay
from edge_agent.detector.base import load_detector, resolve_runtime
from edge_agent.detector.types import Detector, DetectorConfig, ModelLoadError
from edge_agent.detector.variants import model_file
from edge_agent.logs import OnceLogger, log_event
from edge_agent.metrics import AgentMetrics
from edge_agent.priority import run_at_nice
from edge_agent.shadow import ActiveShadow, ShadowConfig, ShadowSlot
from edge_agent.transport import Transport, TransportError, write_atomic
from maskops_contracts import MANIFEST_KEY, ContractError, ModelRef, ReleaseManifest, sha256_file

logger = logging.getLogger("edge_agent.model_sync")

#: model_version reported (telemetry, /healthz) while a camera has no detector.
NO_MODEL = "none"

Loader = Callable[..., Detector]


class ModelSyncConfig(BaseModel):
    """How often to look for a new release.

    first_model_wait_s: a file source (video, folder) on a camera with no model yet waits up to
    this long (and no longer than the first poll) before it reads, so a fresh box does not run a
    clip without its model; 0 does not wait. Frames read without a model are counted apart
    (``frames_without_model``). Live sources never wait: they run from the start.
    missing_retry_initial_s / missing_retry_max_s: a model object the manifest names but the
    store lacks is looked for again after this backoff (doubling, capped, jittered).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    poll_interval_s: float = Field(default=60.0, gt=0)
    warmup_frames: int = Field(default=2, ge=0)
    first_model_wait_s: float = Field(default=120.0, ge=0)
    missing_retry_initial_s: float = Field(default=30.0, gt=0)
    missing_retry_max_s: float = Field(default=3600.0, gt=0)


@dataclass(frozen=True)
class ActiveModel:
    """What a camera runs now. ``detector`` is None before any model is available."""

    detector: Detector | None
    model_version: str = NO_MODEL
    sha256: str | None = None
    origin: str = "none"  # manifest | cache | config | none
    #: the release this model came with (None for a configured model or none)
    release_id: str | None = None

    @property
    def runtime(self) -> str | None:
        """The runtime the detector runs on (None without a detector)."""
        return None if self.detector is None else self.detector.runtime

    @property
    def precision(self) -> str | None:
        """The precision the compiled model runs at, "fp32" or "bf16" (None without a detector)."""
        return None if self.detector is None else self.detector.precision


class ModelHolder:
    """The one place a camera worker reads its detector from; swapped atomically by model sync."""

    def __init__(self, camera_id: str, initial: ActiveModel | None = None) -> None:
        self.camera_id = camera_id
        self._active = initial or ActiveModel(detector=None)
        self._changed = threading.Condition()

    def current(self) -> ActiveModel:
        with self._changed:
            return self._active

    def swap(self, active: ActiveModel) -> ActiveModel:
        """Install ``active``; returns the model it replaced."""
        with self._changed:
            old, self._active = self._active, active
            self._changed.notify_all()
            return old

    def wait_for_detector(
        self,
        timeout_s: float,
        *,
        stop: threading.Event | None = None,
        give_up: threading.Event | None = None,
    ) -> ActiveModel:
        """Wait until the holder has a detector, ``timeout_s`` passes, or ``stop``/``give_up`` is
        set (both looked at every 0.1 s); returns what it holds then."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._active.detector is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or any(e is not None and e.is_set() for e in (stop, give_up)):
                    break
                self._changed.wait(min(remaining, 0.1))
            return self._active


def return_freed_memory() -> bool:
    """Give the heap pages that freed objects left behind back to the OS (glibc's
    ``malloc_trim``); False where there is no glibc. A replaced model's compiled graph is tens of
    MB, partly small allocations that glibc would otherwise keep in its heap; trimming keeps the
    resident size from creeping up swap after swap (bench/edge_throughput.py draws it)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


class ModelRefused(Exception):
    """A model the manifest names cannot be used; ``reason`` is the metric label."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class ModelSync:
    """Keeps every camera's ``ModelHolder`` on the model the release manifest names."""

    def __init__(
        self,
        cfg: ModelSyncConfig,
        detector_cfg: DetectorConfig,
        transport: Transport,
        cache_dir: Path,
        holders: dict[str, ModelHolder],
        metrics: AgentMetrics,
        *,
        loader: Loader = load_detector,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        shadow_slots: dict[str, ShadowSlot] | None = None,
        shadow_cfg: ShadowConfig | None = None,
    ) -> None:
        self.cfg = cfg
        self.detector_cfg = detector_cfg
        self.transport = transport
        self.cache_dir = Path(cache_dir)
        self.holders = holders
        self.metrics = metrics
        self._loader = loader
        self._loaded: dict[tuple[str, str], Detector] = {}
        #: per camera with shadow mode: the slot its shadow model goes in
        self.shadow_slots = shadow_slots or {}
        self.shadow_cfg = shadow_cfg or ShadowConfig()
        #: shadow models, loaded apart from the cameras' (each runs on its own thread)
        self._shadow_loaded: dict[tuple[str, str], Detector] = {}
        self._refused: dict[tuple[str, str], ModelRefused] = {}
        #: model objects the store lacked: (attempts so far, clock time of the next try)
        self._missing: dict[tuple[str, str], tuple[int, float]] = {}
        self._bad_manifests: set[str] = set()
        #: a replaced model was let go at the last poll: hand its memory back at the next one
        #: (by then the frames that were still in flight on it are done)
        self._trim_due = False
        self._once = OnceLogger(logger)
        self._clock = clock
        self._rng = rng or random.Random()
        #: the release id of the manifest last read (its models may have been refused)
        self.release_id: str | None = None
        #: per camera: the model of the current manifest it does not run, and why
        self.refusals: dict[str, dict[str, str]] = {}
        #: set once the first poll is over (whatever it found): no model is on its way before
        self.first_poll_done = threading.Event()

    # ------------------------------------------------------------ start-up
    @property
    def _state_path(self) -> Path:
        return self.cache_dir / "active.json"

    def restore(self, fallback_path: Path | None, fallback_version: str) -> None:
        """Give every camera a model before the first poll: its cached last good model, else the
        configured ``detector.model_path``, else none (sources and telemetry still run)."""
        state = self._read_state()
        fallback: ActiveModel | None = None
        for camera_id, holder in self.holders.items():
            entry = state.get(camera_id)
            active = self._from_cache(entry) if entry else None
            if active is None and fallback_path is not None:
                if fallback is None:
                    fallback = self._from_config(fallback_path, fallback_version)
                active = fallback
            if active is None:
                self._once.log(
                    logging.WARNING,
                    "no_model",
                    "start",
                    "no model yet (no cached release and no detector.model_path): cameras run sources and "
                    "telemetry without a detector until a release manifest names a model",
                )
                active = ActiveModel(detector=None)
            holder.swap(active)
            self.metrics.set_model(camera_id, active.model_version, active.runtime, active.precision)

    def _read_state(self) -> dict[str, dict]:
        try:
            data = json.loads(self._state_path.read_text())
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log_event(
                logger,
                logging.WARNING,
                "model_cache_unreadable",
                f"ignoring unreadable model cache state {self._state_path}: {err}",
            )
            return {}

    def _from_cache(self, entry: dict) -> ActiveModel | None:
        try:
            ref = ModelRef.from_dict(entry, "active")
            detector = self._loaded.get((ref.model_version, ref.sha256))
            if detector is None:
                path = self._cache_path(ref)
                if not path.is_file() or sha256_file(path) != ref.sha256:
                    raise ModelRefused("cache_corrupt", f"cached model {path} is missing or fails its sha256")
                detector = self._load(ref, path)
        except (ContractError, ModelRefused) as err:
            log_event(logger, logging.WARNING, "model_cache_unusable", f"cached model not used: {err}")
            return None
        log_event(
            logger,
            logging.INFO,
            "model_restored",
            f"starting with cached model {ref.model_version}",
            model_version=ref.model_version,
        )
        release_id = entry.get("release_id")
        release_id = release_id if isinstance(release_id, str) else None
        return ActiveModel(detector, ref.model_version, ref.sha256, "cache", release_id)

    def _from_config(self, path: Path, version: str) -> ActiveModel:
        try:
            detector = self._loader(path, model_version=version, cfg=self.detector_cfg)
        except ModelLoadError as err:
            self.metrics.model_refusals.labels(err.reason).inc()
            log_event(
                logger,
                logging.ERROR,
                "model_refused",
                f"detector.model_path not usable, running without a detector: {err}",
                reason=err.reason,
            )
            return ActiveModel(detector=None)
        self._warmup(detector)
        log_event(
            logger,
            logging.INFO,
            "model_loaded",
            f"starting with configured model {path} as {version}",
            model_version=version,
        )
        return ActiveModel(detector, version, None, "config")

    # ------------------------------------------------------------ polling
    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop``; the first poll happens at once."""
        while not stop.is_set():
            try:
                self.poll_once()
            finally:
                self.first_poll_done.set()
            stop.wait(self.cfg.poll_interval_s)

    def poll_once(self) -> None:
        """Read the manifest once and move cameras to the models it names."""
        if self._trim_due:
            self._trim_due = False
            return_freed_memory()
        try:
            raw = self.transport.get(MANIFEST_KEY)
        except TransportError as err:
            self._once.log(
                logging.WARNING,
                "manifest_unreachable",
                "store",
                f"cannot read {MANIFEST_KEY}; keeping current models: {err}",
            )
            return
        self._once.forget("manifest_unreachable")
        if raw is None:
            self._once.log(
                logging.INFO,
                "no_release",
                "none",
                f"no release yet ({MANIFEST_KEY} not in {self.transport.describe()})",
            )
            return
        manifest = self._parse(raw)
        if manifest is None:
            return
        self.release_id = manifest.release_id
        # shadows first: a camera waiting for its first model then compares from its first frame
        for camera_id, slot in self.shadow_slots.items():
            self._sync_shadow(camera_id, slot, manifest)
        for camera_id, holder in self.holders.items():
            self._sync_camera(camera_id, holder, manifest)
        self._forget_unused()
        self._prune_cache(manifest)

    def _sync_camera(self, camera_id: str, holder: ModelHolder, manifest: ReleaseManifest) -> None:
        chosen = model_file(
            manifest.model_for(camera_id),
            runtime=resolve_runtime(self.detector_cfg.runtime),
            requested=self.detector_cfg.precision,
        )
        if chosen.note is not None:
            self._once.log(logging.INFO, "model_variant", chosen.note, chosen.note)
        ref = chosen.ref  # from here on: the file this camera runs (the model, or its INT8 file)
        current = holder.current()
        key = (ref.model_version, ref.sha256)
        if current.model_version == ref.model_version and current.sha256 == ref.sha256:
            self.refusals.pop(camera_id, None)
            return
        refused = self._refused.get(key)
        if refused is not None:  # refused for good: counted and logged once, not on every poll
            self._note_refusal(camera_id, manifest.release_id, ref, refused.reason, str(refused))
            return
        missing = self._missing.get(key)
        if missing is not None and self._clock() < missing[1]:
            return  # not there at the last look; the next look is not due yet
        try:
            detector = self._obtain(ref)
        except ModelRefused as err:
            if err.reason == "missing":
                self._retry_missing(camera_id, manifest.release_id, ref, current, err)
                return
            self._refused[key] = err
            self._missing.pop(key, None)
            self.metrics.model_refusals.labels(err.reason).inc()
            self._note_refusal(camera_id, manifest.release_id, ref, err.reason, str(err))
            log_event(
                logger,
                logging.ERROR,
                "model_refused",
                f"refused model {ref.model_version} of release {manifest.release_id} "
                f"({err.reason}): {err}; "
                f"camera {camera_id} keeps {current.model_version}",
                reason=err.reason,
                model_version=ref.model_version,
                release_id=manifest.release_id,
                camera_id=camera_id,
                kept_model_version=current.model_version,
            )
            return
        except TransportError as err:
            self._once.log(
                logging.WARNING,
                "model_download_failed",
                ref.model_version,
                f"cannot download {ref.uri}; will retry next poll: {err}",
            )
            return
        if self._missing.pop(key, None) is not None:
            log_event(
                logger,
                logging.INFO,
                "model_found",
                f"model {ref.model_version} of release {manifest.release_id} is in the store now",
                model_version=ref.model_version,
            )
        active = ActiveModel(detector, ref.model_version, ref.sha256, "manifest", manifest.release_id)
        holder.swap(active)
        self.refusals.pop(camera_id, None)
        self.metrics.set_model(camera_id, ref.model_version, active.runtime, active.precision)
        self.metrics.model_swaps.labels(camera_id).inc()
        self._remember(camera_id, ref, manifest.release_id, current)
        log_event(
            logger,
            logging.INFO,
            "model_swapped",
            f"camera {camera_id} now runs {ref.model_version} on {detector.runtime} at "
            f"{detector.precision} (was {current.model_version}), release {manifest.release_id}",
            camera_id=camera_id,
            model_version=ref.model_version,
            runtime=detector.runtime,
            precision=detector.precision,
            previous=current.model_version,
            release_id=manifest.release_id,
        )

    def _sync_shadow(self, camera_id: str, slot: ShadowSlot, manifest: ReleaseManifest) -> None:
        """Put the shadow model the manifest names for ``camera_id`` in its slot, or empty it."""
        shadow = manifest.shadow_for(camera_id) if self.shadow_cfg.enabled else None
        current = slot.current()
        if shadow is None:
            if current is not None:
                slot.set(None)
                log_event(
                    logger,
                    logging.INFO,
                    "shadow_stopped",
                    f"camera {camera_id} stops comparing with shadow model {current.model_version} "
                    f"(release {manifest.release_id} names no shadow for it)",
                    camera_id=camera_id,
                    shadow_model_version=current.model_version,
                )
            return
        chosen = model_file(
            shadow, runtime=resolve_runtime(self.detector_cfg.runtime), requested=self.detector_cfg.precision
        )
        ref = chosen.ref
        key = (ref.model_version, ref.sha256)
        if current is not None and (current.model_version, current.sha256) == key:
            if current.frame_share != shadow.frame_share or current.release_id != manifest.release_id:
                slot.set(ActiveShadow(current.detector, *key, shadow.frame_share, manifest.release_id))
            return
        refused = self._refused.get(key)
        if refused is not None:
            return  # logged and counted when it was refused
        try:
            detector = self._shadow_loaded.get(key)
            if detector is None:
                detector = self._obtain(ref, shadow=True)
        except ModelRefused as err:
            if err.reason != "missing":  # a missing object is looked for again at the next poll
                self._refused[key] = err
                self.metrics.model_refusals.labels(err.reason).inc()
            self._once.log(
                logging.ERROR,
                "shadow_refused",
                f"{ref.model_version}:{ref.sha256}:{err.reason}",
                f"refused shadow model {ref.model_version} of release {manifest.release_id} "
                f"({err.reason}): {err}; cameras run no shadow (their own models are not affected)",
                reason=err.reason,
                model_version=ref.model_version,
                release_id=manifest.release_id,
            )
            slot.set(None)
            return
        except TransportError as err:
            self._once.log(
                logging.WARNING,
                "model_download_failed",
                ref.model_version,
                f"cannot download shadow model {ref.uri}; will retry next poll: {err}",
            )
            return
        slot.set(ActiveShadow(detector, *key, shadow.frame_share, manifest.release_id))
        log_event(
            logger,
            logging.INFO,
            "shadow_started",
            f"camera {camera_id} compares shadow model {ref.model_version} with its model on "
            f"{shadow.frame_share:.0%} of its frames, release {manifest.release_id}",
            camera_id=camera_id,
            shadow_model_version=ref.model_version,
            frame_share=shadow.frame_share,
            release_id=manifest.release_id,
        )

    def _note_refusal(
        self, camera_id: str, release_id: str, ref: ModelRef, reason: str, problem: str
    ) -> None:
        self.refusals[camera_id] = {
            "release_id": release_id,
            "model_version": ref.model_version,
            "reason": reason,
            "problem": problem,
        }

    def _retry_missing(
        self, camera_id: str, release_id: str, ref: ModelRef, current: ActiveModel, err: ModelRefused
    ) -> None:
        """The store lacks the model object (not uploaded yet?): look again after a backoff."""
        key = (ref.model_version, ref.sha256)
        attempts = self._missing.get(key, (0, 0.0))[0] + 1
        delay = backoff_delay(
            attempts, self.cfg.missing_retry_initial_s, self.cfg.missing_retry_max_s, self._rng
        )
        self._missing[key] = (attempts, self._clock() + delay)
        self._note_refusal(camera_id, release_id, ref, "missing", str(err))
        if attempts == 1:  # counted and logged once per model, however often it is looked for
            self.metrics.model_refusals.labels("missing").inc()
        self._once.log(
            logging.ERROR,
            "model_refused",
            f"missing:{ref.model_version}:{ref.sha256}:{camera_id}",
            f"model {ref.model_version} of release {release_id} is not in the store ({err}); "
            f"camera {camera_id} keeps {current.model_version}; looking again with backoff "
            f"(first in {delay:.0f} s)",
            reason="missing",
            model_version=ref.model_version,
            release_id=release_id,
            camera_id=camera_id,
            kept_model_version=current.model_version,
        )

    def _parse(self, raw: bytes) -> ReleaseManifest | None:
        try:
            return ReleaseManifest.from_json(raw, source=MANIFEST_KEY)
        except ContractError as err:
            digest = hashlib.sha256(raw).hexdigest()
            if digest not in self._bad_manifests:
                self._bad_manifests.add(digest)
                self.metrics.model_refusals.labels("bad_manifest").inc()
                log_event(
                    logger,
                    logging.ERROR,
                    "model_refused",
                    f"release manifest is invalid, keeping current models: {err}",
                    reason="bad_manifest",
                )
            return None

    @staticmethod
    def _dir_name(model_version: str, sha256: str) -> str:
        return f"{model_version}-{sha256[:16]}"

    def _cache_path(self, ref: ModelRef) -> Path:
        return self.cache_dir / self._dir_name(ref.model_version, ref.sha256) / "model.onnx"

    def _obtain(self, ref: ModelRef, *, shadow: bool = False) -> Detector:
        loaded = (self._shadow_loaded if shadow else self._loaded).get((ref.model_version, ref.sha256))
        if loaded is not None:
            return loaded
        path = self._cache_path(ref)
        if not (path.is_file() and sha256_file(path) == ref.sha256):
            self._download(ref, path)
        return self._load(ref, path, shadow=shadow)

    def _download(self, ref: ModelRef, path: Path) -> None:
        """Fetch ``ref`` into the cache at ``path`` once its sha256 checks out. A function of its
        own so the downloaded bytes are freed before the model is loaded, not held through it."""
        data = self.transport.get(ref.uri)
        if data is None:
            raise ModelRefused("missing", f"{ref.uri} is not in {self.transport.describe()}")
        actual = hashlib.sha256(data).hexdigest()
        if actual != ref.sha256:
            raise ModelRefused(
                "sha256_mismatch", f"{ref.uri} has sha256 {actual}, the manifest says {ref.sha256}"
            )
        write_atomic(path, data)

    def _load(self, ref: ModelRef, path: Path, *, shadow: bool = False) -> Detector:
        """Load ``ref`` from ``path`` at a precision the release measured on this agent's runtime
        (a shadow model on ``ShadowConfig.threads`` and one stream: it runs one frame at a time; it
        is loaded and warmed up at the shadow's nice value, which the runtime's threads inherit)."""
        if shadow:
            detector = run_at_nice(
                self.shadow_cfg.nice, lambda: self._load_checked(ref, path, shadow=True), name="shadow-load"
            )
        else:
            detector = self._load_checked(ref, path, shadow=False)
        (self._shadow_loaded if shadow else self._loaded)[(ref.model_version, ref.sha256)] = detector
        return detector

    def _load_checked(self, ref: ModelRef, path: Path, *, shadow: bool) -> Detector:
        measured = ref.measured_precisions(resolve_runtime(self.detector_cfg.runtime))
        cfg = self.detector_cfg
        if shadow:
            cfg = cfg.model_copy(update={"threads": self.shadow_cfg.threads, "streams": 1})
        try:
            detector = self._loader(
                path,
                model_version=ref.model_version,
                cfg=cfg,
                imgsz=ref.imgsz,
                measured_precisions=measured,
                frame_sizes=self._frame_sizes() or None,
            )
        except ModelLoadError as err:  # its reason: load_failed, precision_not_measured...
            raise ModelRefused(err.reason, str(err)) from err
        if tuple(detector.class_names) != tuple(ref.class_names):
            raise ModelRefused(
                "class_mismatch",
                f"model has classes {list(detector.class_names)}, the manifest says {list(ref.class_names)}",
            )
        self._warmup(detector)
        return detector

    def _warmup(self, detector: Detector) -> None:
        """Warm up on the frame sizes the cameras' current models have met, so a swapped-in model
        has already compiled its input shapes when it gets the next real frame."""
        if not self.cfg.warmup_frames:
            return
        detector.warmup(self.cfg.warmup_frames, self._frame_sizes(besides=detector) or None)

    def _frame_sizes(self, besides: Detector | None = None) -> frozenset[tuple[int, int]]:
        """The frame sizes the cameras' current models (other than ``besides``) have run on."""
        sizes: set[tuple[int, int]] = set()
        for holder in self.holders.values():
            current = holder.current().detector
            if current is not None and current is not besides:
                sizes |= current.frame_sizes
        return frozenset(sizes)

    def _remember(self, camera_id: str, ref: ModelRef, release_id: str, replaced: ActiveModel) -> None:
        """Note what ``camera_id`` runs now, from which release, and what it ran before (kept in
        the cache for a rollback)."""
        state = self._read_state()
        old = state.get(camera_id) if isinstance(state.get(camera_id), dict) else {}
        entry: dict = {**ref.to_dict(), "release_id": release_id}
        if replaced.sha256 is not None:
            entry["previous"] = {"model_version": replaced.model_version, "sha256": replaced.sha256}
        elif isinstance(old.get("previous"), dict):
            entry["previous"] = old["previous"]
        state[camera_id] = entry
        write_atomic(self._state_path, json.dumps(state, indent=2).encode())

    def _prune_cache(self, manifest: ReleaseManifest) -> None:
        """Remove cached models other than each camera's current and previous one and the
        release's canary (refused and superseded models would otherwise pile up forever)."""
        keep: set[str] = set()
        for holder in self.holders.values():
            active = holder.current()
            if active.sha256 is not None:
                keep.add(self._dir_name(active.model_version, active.sha256))
        for entry in self._read_state().values():
            if not isinstance(entry, dict):
                continue
            for ref in (entry, entry.get("previous")):
                if (
                    isinstance(ref, dict)
                    and isinstance(ref.get("model_version"), str)
                    and isinstance(ref.get("sha256"), str)
                ):
                    keep.add(self._dir_name(ref["model_version"], ref["sha256"]))
        if manifest.canary is not None:
            keep.add(self._dir_name(manifest.canary.model_version, manifest.canary.sha256))
        for slot in self.shadow_slots.values():
            shadow = slot.current()
            if shadow is not None:
                keep.add(self._dir_name(shadow.model_version, shadow.sha256))
        try:
            entries = list(self.cache_dir.iterdir())
        except FileNotFoundError:
            return
        for path in entries:
            if not path.is_dir() or path.name in keep or not (path / "model.onnx").exists():
                continue
            try:
                shutil.rmtree(path)
            except OSError as err:
                self._once.log(
                    logging.WARNING,
                    "model_cache_prune_failed",
                    path.name,
                    f"cannot remove the unused cached model {path}: {err}",
                )
                continue
            log_event(
                logger,
                logging.INFO,
                "model_cache_pruned",
                f"removed cached model {path.name} (neither current, previous nor canary)",
                path=str(path),
            )

    def _forget_unused(self) -> None:
        in_use = {(h.current().model_version, h.current().sha256) for h in self.holders.values()}
        for key in [k for k in self._loaded if k not in in_use]:
            del self._loaded[key]
            self._trim_due = True
        shadows = {
            (s.model_version, s.sha256) for s in map(ShadowSlot.current, self.shadow_slots.values()) if s
        }
        for key in [k for k in self._shadow_loaded if k not in shadows]:
            del self._shadow_loaded[key]
            self._trim_due = True
