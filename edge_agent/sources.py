"""Frame sources: a webcam, an RTSP/HTTP stream, a video file or a folder of images.

Every source yields ``Frame`` objects from ``frames(stop)``. A live source (webcam, stream)
that cannot be opened or drops raises ``SourceError``; the camera's watchdog
(``edge_agent.watchdog``, the one place that reconnects) calls ``frames`` again after a backoff
set by ``reconnect_initial_s``/``reconnect_max_s``. File sources end at the end of the file
(or start again with ``loop``); stopped early, a file is not reported as truncated. A frame
that does not decode is counted in ``stats.corrupt_frames`` and skipped; a file that cannot be
opened at all raises ``SourceError`` naming it, already in ``open_source`` so a bad config fails
at start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.frames import Frame

log = logging.getLogger(__name__)

# A video file without a usable frame rate in its header is read as this.
_FALLBACK_FPS = 25.0
# Marks a video frame that did not decode (as opposed to the end of the file).
_CORRUPT = object()
# Reads that fail in a row before a live source is considered dropped and reopened.
_MAX_FAILED_READS = 3


class SourceError(RuntimeError):
    """A source cannot be used at all (missing, unreadable or corrupt file, bad folder)."""


class SourceConfig(BaseModel):
    """Where one camera's frames come from.

    uri: the webcam index as a string ("0"), an rtsp:// or http(s):// URL, a video file, or a
    folder. glob: which files of a folder are frames (sorted by name). loop: start a video or
    folder again at its end. realtime: deliver file frames at their recorded pace instead of
    as fast as they decode. folder_fps: the capture spacing given to folder images.
    reconnect_initial_s / reconnect_max_s: the camera's one restart policy: a live source that
    cannot be opened or drops (and a camera pipeline that dies) is started again after
    ``reconnect_initial_s``, doubling up to ``reconnect_max_s``, jittered; back to the first
    step after it delivered frames.
    decode_threads: FFmpeg decoding threads for a video or stream (0: FFmpeg's choice, one per
    core). 1 by default: the detector owns the cores, and a decoder thread pool beside it costs
    more CPU than it saves (640x480 MPEG-4 on 2 cores: 0.29-0.37 ms a frame with one thread,
    0.45-0.55 ms with FFmpeg's two). Raise it for 4K streams that one thread cannot keep up with.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webcam", "stream", "video", "folder"]
    uri: str = Field(min_length=1)
    glob: str = "*.jpg"
    loop: bool = False
    realtime: bool = False
    folder_fps: float = Field(5.0, gt=0.0)
    reconnect_initial_s: float = Field(0.5, gt=0.0)
    reconnect_max_s: float = Field(30.0, gt=0.0)
    open_timeout_s: float = Field(10.0, gt=0.0)
    read_timeout_s: float = Field(10.0, gt=0.0)
    decode_threads: int = Field(1, ge=0, le=64)

    @model_validator(mode="after")
    def _check(self) -> SourceConfig:
        if self.kind == "webcam" and not self.uri.isdigit():
            raise ValueError(f"a webcam uri is its device index such as '0', got {self.uri!r}")
        if self.kind == "stream" and "://" not in self.uri:
            shown = mask_uri(self.uri)
            raise ValueError(f"a stream uri must be a URL such as rtsp://host/path, got {shown!r}")
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be >= reconnect_initial_s")
        return self


@dataclass
class SourceStats:
    """Counters for /metrics and the run summary; written by the reading thread only."""

    frames_read: int = 0
    corrupt_frames: int = 0
    reconnects: int = 0
    last_error: str | None = None
    ended: bool = False


class FrameSource(Protocol):
    """What a camera worker reads from."""

    stats: SourceStats
    description: str

    def frames(self, stop: threading.Event) -> Iterator[Frame | None]:
        """Yield frames until the source ends or ``stop`` is set (blocks while waiting).

        A live source also yields ``None`` when a read fails or the stream drops, before it
        waits to reconnect: the reader then has time to finish what it holds."""
        ...

    def close(self) -> None:
        """Release the device or file; safe to call twice."""
        ...


def _decode_params(cfg: SourceConfig) -> list[int]:
    """VideoCapture open parameters for FFmpeg's decoding threads (none: FFmpeg decides)."""
    return [cv2.CAP_PROP_N_THREADS, cfg.decode_threads] if cfg.decode_threads else []


def mask_uri(uri: str) -> str:
    """The URI with any password replaced by ``***`` (``rtsp://user:***@host/path``)."""
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class _ErrorLog:
    """Logs the first failure of a kind and then every 100th, so a bad stream cannot flood the log."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.count = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        if self.count == 1 or self.count % 100 == 0:
            log.warning("%s: %s (%d so far)", self.description, message, self.count)


def _as_bgr(image: np.ndarray | None) -> np.ndarray | None:
    """A 3-channel BGR uint8 image, or None when the decoder gave nothing usable."""
    if image is None or image.size == 0 or image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    return None


class _FileClock:
    """Capture times for file frames: a fixed start plus each frame's offset in the file.

    Offsets keep growing across loops so the gate and the sampler see time move forward.
    With ``realtime`` it also waits until each frame is due on the wall clock.
    """

    def __init__(self, realtime: bool) -> None:
        self.realtime = realtime
        self.start = datetime.now(UTC)
        self._start_mono = time.monotonic()

    def stamp(self, offset_s: float, stop: threading.Event) -> datetime:
        if self.realtime:
            wait = self._start_mono + offset_s - time.monotonic()
            if wait > 0:
                stop.wait(wait)
        return self.start + timedelta(seconds=offset_s)


class VideoFileSource:
    """A video file read with OpenCV's FFmpeg backend; opened and checked on creation."""

    def __init__(self, camera_id: str, cfg: SourceConfig) -> None:
        self.camera_id = camera_id
        self.cfg = cfg
        self.path = Path(cfg.uri)
        self.description = str(self.path)
        self.stats = SourceStats()
        self._errors = _ErrorLog(f"camera {camera_id} video {self.path}")
        self._cap, self._first = self._open()
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and np.isfinite(fps) and 0 < fps < 1000 else _FALLBACK_FPS

    def _open(self) -> tuple[cv2.VideoCapture, np.ndarray]:
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist; check source.uri")
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, _decode_params(self.cfg))
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"video file {self.path} cannot be opened: it is corrupt, truncated or in a format "
                "FFmpeg cannot read; re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
            )
        # Decode the first frame now: a file whose header opens but whose frames do not is
        # just as unusable, and the operator should learn it at start-up.
        ok, first = cap.read()
        first = _as_bgr(first) if ok else None
        if first is None:
            cap.release()
            raise SourceError(
                f"video file {self.path} opened but no frame could be decoded; the file is corrupt"
            )
        return cap, first

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        try:
            yield from self._play(stop)
        finally:
            self.close()

    def _play(self, stop: threading.Event) -> Iterator[Frame]:
        clock = _FileClock(self.cfg.realtime)
        played = 0  # frames delivered over all loops: keeps time moving forward
        while not stop.is_set():
            position = 0
            pass_frames = 0
            while not stop.is_set():
                image = self._next_image()
                if image is None:
                    break
                if image is _CORRUPT:
                    position += 1
                    continue
                captured = clock.stamp(played / self.fps, stop)
                self.stats.frames_read += 1
                yield Frame(self.camera_id, position, image, captured, self.description)
                position += 1
                played += 1
                pass_frames += 1
            if stop.is_set():  # a stop is not a truncation
                break
            self._check_complete(position)
            if not self.cfg.loop or pass_frames == 0:
                break
            self._rewind()
        self.stats.ended = not stop.is_set()

    def _check_complete(self, position: int) -> None:
        """Note a file that ended well before the frame count its header promised (truncated)."""
        expected = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if self._cap is not None else 0
        if expected > 0 and position < expected - 1:
            self.stats.last_error = f"{self.path}: ended at frame {position} of {expected}; truncated?"
            self._errors(f"ended at frame {position} of the {expected} its header lists; truncated?")

    def _next_image(self) -> np.ndarray | object | None:
        """The next BGR frame, ``_CORRUPT`` for one that did not decode, None at the end."""
        if self._first is not None:
            image, self._first = self._first, None
            return image
        if self._cap is None:
            return None
        ok, raw = self._cap.read()
        if not ok:
            return None
        image = _as_bgr(raw)
        if image is None:
            self.stats.corrupt_frames += 1
            self._errors("a frame did not decode; skipped")
            return _CORRUPT
        return image

    def _rewind(self) -> None:
        if self._cap is not None and self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            return
        # Some containers cannot seek: reopen instead.
        self.close()
        self._cap, self._first = self._open()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None



class FolderSource:
    """Image files of a folder, in name order; unreadable files are counted and skipped."""

    def __init__(self, camera_id: str, cfg: SourceConfig) -> None:
        self.camera_id = camera_id
        self.cfg = cfg
        self.folder = Path(cfg.uri)
        self.description = str(self.folder)
        self.stats = SourceStats()
        self._errors = _ErrorLog(f"camera {camera_id} folder {self.folder}")
        if not self.folder.is_dir():
            raise SourceError(
                f"image folder {self.folder} does not exist or is not a folder; check source.uri"
            )
        if not self._list():
            raise SourceError(
                f"image folder {self.folder} has no files matching {cfg.glob!r}; check source.glob"
            )

    def _list(self) -> list[Path]:
        return sorted(p for p in self.folder.glob(self.cfg.glob) if p.is_file())

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        clock = _FileClock(self.cfg.realtime)
        played = 0
        while not stop.is_set():
            pass_frames = 0
            for position, path in enumerate(self._list()):
                if stop.is_set():
                    break
                image = _as_bgr(cv2.imread(str(path), cv2.IMREAD_COLOR))
                if image is None:
                    self.stats.corrupt_frames += 1
                    self.stats.last_error = f"{path}: not a readable image"
                    self._errors(f"{path.name} is not a readable image; skipped")
                    continue
                captured = clock.stamp(played / self.cfg.folder_fps, stop)
                self.stats.frames_read += 1
                yield Frame(self.camera_id, position, image, captured, str(path))
                played += 1
                pass_frames += 1
            if not self.cfg.loop or pass_frames == 0:
                break
        self.stats.ended = not stop.is_set()

    def close(self) -> None:
        """Nothing is held open between files."""


class LiveSource:
    """A webcam or a network stream. ``frames`` opens it and reads until ``stop``; a source that
    cannot be opened or drops raises SourceError (after yielding None, so the reader can finish
    what it holds), and a later ``frames`` call reconnects (counted in ``stats.reconnects``).

    ``Frame.index`` counts frames since the source was created (it keeps counting across
    reconnects) and ``captured_at`` is this box's clock when the frame arrived.
    """

    def __init__(self, camera_id: str, cfg: SourceConfig) -> None:
        self.camera_id = camera_id
        self.cfg = cfg
        self.description = mask_uri(cfg.uri)
        self.stats = SourceStats()
        self._errors = _ErrorLog(f"camera {camera_id} {cfg.kind} {self.description}")
        self._cap: cv2.VideoCapture | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reading = False
        self._opened_before = False
        self._index = 0

    def _open_capture(self) -> cv2.VideoCapture:
        if self.cfg.kind == "webcam":
            cap = cv2.VideoCapture(int(self.cfg.uri))
        else:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.cfg.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.cfg.read_timeout_s * 1000),
                *_decode_params(self.cfg),
            ]
            cap = cv2.VideoCapture(self.cfg.uri, cv2.CAP_FFMPEG, params)
        return cap

    def frames(self, stop: threading.Event) -> Iterator[Frame | None]:
        if self._halted(stop):
            return
        if self._opened_before:
            self.stats.reconnects += 1
        self._opened_before = True
        self._reading = True
        try:
            yield from self._read(stop)
        finally:
            # Released by the reading thread itself: freeing a capture while another thread is
            # inside its read() crashes FFmpeg.
            self._reading = False
            self._release()

    def _halted(self, stop: threading.Event) -> bool:
        return stop.is_set() or self._closed.is_set()

    def _read(self, stop: threading.Event) -> Iterator[Frame | None]:
        cap = self._open_capture()
        with self._lock:
            self._cap = cap
        if not cap.isOpened():
            self.stats.last_error = f"cannot open {self.description}"
            self._errors("cannot open the source")
            raise SourceError(self.stats.last_error)
        failed_reads = 0
        while not self._halted(stop):
            ok, raw = cap.read()
            image = _as_bgr(raw) if ok else None
            if image is None:
                if ok:
                    self.stats.corrupt_frames += 1
                    self._errors("a frame did not decode; skipped")
                yield None  # no frame now: the worker finishes the frames it holds
                failed_reads += 1
                if failed_reads >= _MAX_FAILED_READS:
                    break
                continue
            failed_reads = 0
            self.stats.frames_read += 1
            yield Frame(self.camera_id, self._index, image, datetime.now(UTC), self.description)
            self._index += 1
        if not self._halted(stop):
            self.stats.last_error = f"lost {self.description} after frame {self._index}"
            self._errors("the stream dropped")
            raise SourceError(self.stats.last_error)

    def _release(self) -> None:
        with self._lock:
            if self._cap is not None:
                self._cap.release()
                self._cap = None

    def close(self) -> None:
        """Stop reading; the capture is released now, or by the reading thread once its read returns."""
        self._closed.set()
        if not self._reading:
            self._release()


def open_source(camera_id: str, cfg: SourceConfig) -> FrameSource:
    """The source ``cfg`` describes. Files and folders are checked now (SourceError if unusable);
    live sources connect when ``frames`` is iterated, so a camera that is down at start-up is
    retried by its watchdog instead of failing the agent."""
    if cfg.kind == "video":
        return VideoFileSource(camera_id, cfg)
    if cfg.kind == "folder":
        return FolderSource(camera_id, cfg)
    return LiveSource(camera_id, cfg)
