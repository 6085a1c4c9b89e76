"""The contracts between the edge agent and the platform, as described in docs/contracts.md.

Standard library only: the camera agent and the Dagster code location both import
this package, so it must install anywhere and never pull a framework in.
"""

from maskops_contracts.classes import CLASS_NAMES, class_index
from maskops_contracts.errors import ContractError
from maskops_contracts.ids import validate_id
from maskops_contracts.keys import (
    MANIFEST_KEY,
    agent_status_key,
    model_key,
    parse_agent_status_key,
    parse_sample_key,
    sample_key,
    telemetry_key,
)
from maskops_contracts.manifest import (
    PRECISIONS,
    RUNTIMES,
    CanaryModel,
    ModelRef,
    ModelVariant,
    ReleaseManifest,
    sha256_file,
)
from maskops_contracts.sample import Detection, SampleRecord, SamplingReason
from maskops_contracts.status import AgentStatus, CameraStatus, ModelRefusal, OutboxStatus
from maskops_contracts.telemetry import TELEMETRY_COLUMNS, TelemetryRow

__all__ = [
    "CLASS_NAMES",
    "MANIFEST_KEY",
    "PRECISIONS",
    "RUNTIMES",
    "TELEMETRY_COLUMNS",
    "AgentStatus",
    "CameraStatus",
    "CanaryModel",
    "ContractError",
    "Detection",
    "ModelRef",
    "ModelRefusal",
    "ModelVariant",
    "OutboxStatus",
    "ReleaseManifest",
    "SampleRecord",
    "SamplingReason",
    "TelemetryRow",
    "agent_status_key",
    "class_index",
    "model_key",
    "parse_agent_status_key",
    "parse_sample_key",
    "sample_key",
    "sha256_file",
    "telemetry_key",
    "validate_id",
]
