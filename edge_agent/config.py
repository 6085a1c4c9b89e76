"""The agent's configuration: one YAML file, validated by pydantic, errors with file:line.

Each part owns its config model (``SourceConfig`` in ``sources``, ``OutboxConfig`` in
``outbox``...); ``AgentConfig`` only composes them. ``load_config`` keeps the line of
every YAML node, so an error reads ``agent.yaml:14: cameras[1].source.kind: ...``
instead of a pydantic dump. Relative paths in the file are relative to the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge_agent.detector.base import DetectorConfig
from edge_agent.gate import GateConfig
from edge_agent.logs import LogConfig
from edge_agent.metrics import HttpConfig
from edge_agent.model_sync import ModelSyncConfig
from edge_agent.outbox import OutboxConfig
from edge_agent.sampler import SamplerConfig
from edge_agent.shadow import ShadowConfig
from edge_agent.sources import SourceConfig
from edge_agent.telemetry import TelemetryConfig
from edge_agent.transport import StoreConfig
from maskops_contracts import ContractError, validate_id

#: Source kinds that read files; their ``uri`` is resolved relative to the config file.
FILE_SOURCE_KINDS = ("video", "folder")


class ConfigError(ValueError):
    """The config file is unusable; ``problems`` are ready-to-print lines (``file:line: key: problem``)."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(problems))


class CameraConfig(BaseModel):
    """One camera: where frames come from and how they are gated and sampled."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str
    source: SourceConfig
    gate: GateConfig = Field(default_factory=GateConfig)
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    enabled: bool = True

    @field_validator("camera_id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        try:
            return validate_id(value, "camera_id")
        except ContractError as err:
            raise ValueError(err.problem) from None


class AgentDetectorConfig(DetectorConfig):
    """The detector runtime settings plus an optional model to start with before any release."""

    #: An ONNX file to run until model sync delivers a release (optional).
    model_path: Path | None = None
    #: The version name reported for ``model_path`` in telemetry and sample records.
    model_version: str = "local"

    @field_validator("model_version")
    @classmethod
    def _safe_version(cls, value: str) -> str:
        try:
            return validate_id(value, "model_version")
        except ContractError as err:
            raise ValueError(err.problem) from None


#: Keys that moved: the old place -> where the setting lives now.
_RENAMED_WATCHDOG_KEYS = {
    "restart_initial_s": "cameras[].source.reconnect_initial_s",
    "restart_max_s": "cameras[].source.reconnect_max_s",
}


class WatchdogConfig(BaseModel):
    """How cameras are watched. A camera whose pipeline dies is restarted by its watchdog
    (``edge_agent.watchdog``) with the one reconnect policy of its source:
    ``source.reconnect_initial_s`` / ``source.reconnect_max_s``."""

    model_config = ConfigDict(extra="forbid")

    #: A live camera with no frame for this long is reported unhealthy.
    stall_after_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in _RENAMED_WATCHDOG_KEYS.items():
                if old in data:
                    raise ValueError(
                        f"{old} was replaced by {new}: a camera's restarts and stream reconnects "
                        "follow one policy, set per camera in its source; move the value there"
                    )
        return data


class AgentConfig(BaseModel):
    """Everything one edge agent needs."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str
    #: Outbox spool, model cache and other state of this agent.
    data_dir: Path = Path("var/edge")
    cameras: list[CameraConfig] = Field(min_length=1)
    detector: AgentDetectorConfig = Field(default_factory=AgentDetectorConfig)
    store: StoreConfig
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    model_sync: ModelSyncConfig = Field(default_factory=ModelSyncConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    #: How this agent runs a release's shadow model (the release names cameras and frame share).
    shadow: ShadowConfig = Field(default_factory=ShadowConfig)
    #: Seconds between heartbeats to ``agents/<agent_id>/status.json`` (``edge_agent.status``);
    #: 0 turns them off. The platform flags cameras silent for 10 min by default: keep it well below.
    status_interval_s: float = Field(default=60.0, ge=0, le=3600)
    http: HttpConfig = Field(default_factory=HttpConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    watchdog: WatchdogConfig = Field(default_factory=WatchdogConfig)

    @field_validator("agent_id")
    @classmethod
    def _safe_agent_id(cls, value: str) -> str:
        try:
            return validate_id(value, "agent_id")
        except ContractError as err:
            raise ValueError(err.problem) from None

    @model_validator(mode="after")
    def _unique_cameras(self) -> AgentConfig:
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.camera_id in seen:
                raise ValueError(f"camera_id {cam.camera_id!r} is used twice; every camera needs its own id")
            seen.add(cam.camera_id)
        return self

    def resolve_paths(self, base: Path) -> AgentConfig:
        """A copy with relative paths (data_dir, store.root, model_path, file sources) made absolute."""

        def fix(p: Path | None) -> Path | None:
            return p if p is None or p.is_absolute() else (base / p).resolve()

        cameras = []
        for cam in self.cameras:
            src = cam.source
            if src.kind in FILE_SOURCE_KINDS and not Path(src.uri).is_absolute():
                src = src.model_copy(update={"uri": str((base / src.uri).resolve())})
            cameras.append(cam.model_copy(update={"source": src}))
        return self.model_copy(
            update={
                "data_dir": fix(self.data_dir),
                "store": self.store.model_copy(update={"root": fix(self.store.root)}),
                "detector": self.detector.model_copy(update={"model_path": fix(self.detector.model_path)}),
                "cameras": cameras,
            }
        )


# ---------------------------------------------------------------- YAML with line numbers
class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, but a key given twice in one mapping is an error naming the key and
    both lines (plain YAML lets the last one silently win: ``source:`` twice runs the second)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given on line {first}); "
                        "the last one would silently win: keep one",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _node_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, (*path, i), lines)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def parse_config(text: str, source: str = "<config>", base_dir: Path | None = None) -> AgentConfig:
    """Validate YAML ``text``; raises ConfigError with one ``source:line: key: problem`` per issue."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(source, [f"{source}:{line}: not valid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            source, [f"{source}:1: the config must be a mapping (agent_id:, cameras:, store: ...)"]
        )
    lines: dict[tuple[Any, ...], int] = {}
    if root is not None:
        _node_lines(root, (), lines)
    try:
        cfg = AgentConfig.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            loc = tuple(e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling and indentation)"
            problems.append(f"{source}:{_line_for(loc, lines)}: {_dotted(loc)}: {msg}")
        raise ConfigError(source, problems) from None
    return cfg.resolve_paths(base_dir) if base_dir is not None else cfg


def load_config(path: Path | str) -> AgentConfig:
    """Read and validate the YAML config at ``path`` (relative paths inside are relative to it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(path, [f"{path}: cannot read the config file: {err.strerror or err}"]) from None
    return parse_config(text, str(path), path.resolve().parent)


def summarize(cfg: AgentConfig) -> dict[str, Any]:
    """A short description of a valid config, for ``validate-config`` and the start-up log."""
    return {
        "agent_id": cfg.agent_id,
        "cameras": {
            c.camera_id: {"kind": c.source.kind, "enabled": c.enabled, "target_fps": c.gate.target_fps}
            for c in cfg.cameras
        },
        "store": cfg.store.describe(),
        "data_dir": str(cfg.data_dir),
        "model_path": str(cfg.detector.model_path) if cfg.detector.model_path else None,
        "detector": {"runtime": cfg.detector.runtime, "precision": cfg.detector.precision},
        "model_sync": cfg.model_sync.enabled,
        "http": f"{cfg.http.host}:{cfg.http.port}" if cfg.http.enabled else None,
    }
