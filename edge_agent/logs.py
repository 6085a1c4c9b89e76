"""Structured JSON logging for the agent: one JSON object per line, on stderr.

Log lines carry an ``event`` name plus fields (``camera_id``, ``key``...), so an
operator can grep or ship them without parsing prose. The final ``summary`` line
of ``--until-sources-end`` goes to stdout instead (see ``agent``), so scripts can
read it without sorting through logs.
"""

from __future__ import annotations

import json
import logging
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


def configure_logging(cfg: LogConfig) -> None:
    """Send every ``edge_agent`` logger to stderr in the configured format (idempotent)."""
    root = logging.getLogger("edge_agent")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
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
