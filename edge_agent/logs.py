"""Structured JSON logging for the agent: one JSON object per line, on stderr.

Log lines carry an ``event`` name plus fields (``camera_id``, ``key``...), so an
operator can grep or ship them without parsing prose. The final ``summary`` line
of ``--until-sources-end`` goes to stdout instead (see ``agent``), so scripts can
read it without sorting through logs.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LogConfig(BaseModel):
    """How the agent logs."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: "json" for machines (the default on a camera box), "text" for a person at a terminal.
    format: Literal["json", "text"] = "json"


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line: ts, level, logger, event, message and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or record.getMessage(),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and key != "event" and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


#: Environment that quiets the native libraries' own stderr output; read by OpenCV when it is
#: loaded (OPENCV_LOG_LEVEL) and by its FFmpeg backend when that starts (its av_log level:
#: -8 is AV_LOG_QUIET; set with OPENCV_FFMPEG_LOGLEVEL, OpenCV's debug callback stays off).
NATIVE_QUIET_ENV = {"OPENCV_LOG_LEVEL": "SILENT", "OPENCV_FFMPEG_LOGLEVEL": "-8"}


_QUIETED: set[str] = set()


def quiet_native_env() -> None:
    """Set NATIVE_QUIET_ENV (where the operator did not set those variables); call it before cv2
    is imported. The CLI does, so FFmpeg's and OpenCV's raw lines cannot break a JSON log;
    ``configure_logging`` gives them back for ``format: text``."""
    for name, value in NATIVE_QUIET_ENV.items():
        if name not in os.environ:
            os.environ[name] = value
            _QUIETED.add(name)


def _unquiet_native_env() -> None:
    """Undo quiet_native_env (text logs, for a person at a terminal: FFmpeg's words help there).
    FFmpeg reads its variable when its backend starts, after the config is loaded."""
    for name in list(_QUIETED):
        os.environ.pop(name, None)
        _QUIETED.discard(name)


def _set_opencv_log_level(silent: bool) -> None:
    try:
        import cv2

        level = cv2.utils.logging.LOG_LEVEL_SILENT if silent else cv2.utils.logging.LOG_LEVEL_WARNING
        cv2.utils.logging.setLogLevel(level)
    except (ImportError, AttributeError):  # no OpenCV, or a build without its logging module
        pass


class _NativeStderr:
    """Native code (libjpeg's "Premature end of JPEG file", a runtime's own warnings) writes
    to file descriptor 2 directly; in JSON mode fd 2 becomes a pipe whose lines are logged as
    ``native_stderr`` events, and the log handler writes to the original stderr."""

    _installed: _NativeStderr | None = None

    def __init__(self) -> None:
        sys.stderr.flush()
        self.stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._reader = os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")
        self._logger = logging.getLogger("edge_agent.native")
        threading.Thread(target=self._pump, name="native-stderr", daemon=True).start()

    def _pump(self) -> None:
        for line in self._reader:
            text = line.rstrip("\n")
            if text.strip():
                log_event(self._logger, logging.WARNING, "native_stderr", text)

    @classmethod
    def install(cls) -> _NativeStderr:
        if cls._installed is None:
            cls._installed = cls()
        return cls._installed


def configure_logging(cfg: LogConfig, *, capture_native: bool = False) -> None:
    """Send every ``edge_agent`` logger to stderr in the configured format (idempotent).

    With ``format: json`` OpenCV's own logging is silenced, and with ``capture_native`` (the
    agent process; not for a library user or a test) anything native code still writes to
    stderr is turned into JSON lines too, so a line-by-line JSON reader never chokes.
    """
    root = logging.getLogger("edge_agent")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stream = sys.stderr
    if cfg.format == "json":
        _set_opencv_log_level(silent=True)
        if capture_native:
            stream = _NativeStderr.install().stream
    elif _QUIETED:
        _unquiet_native_env()
        _set_opencv_log_level(silent=False)
    handler = logging.StreamHandler(stream)
    if cfg.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(cfg.level)
    root.propagate = False


def log_event(logger: logging.Logger, level: int, event: str, message: str, **fields: Any) -> None:
    """Log ``message`` with a machine-readable ``event`` name and extra fields."""
    logger.log(level, message, extra={"event": event, **fields})


class OnceLogger:
    """Logs a given (topic, detail) pair once, so a loop that keeps failing the same way says it once.

    Counting the failures is the caller's job (a metric); this only keeps the log readable.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def log(self, level: int, event: str, detail: str, message: str, **fields: Any) -> bool:
        with self._lock:
            if (event, detail) in self._seen:
                return False
            self._seen.add((event, detail))
        log_event(self._logger, level, event, message, **fields)
        return True

    def forget(self, event: str) -> None:
        """Allow ``event`` to be logged again (e.g. after the condition cleared)."""
        with self._lock:
            self._seen = {item for item in self._seen if item[0] != event}
