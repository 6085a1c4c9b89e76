"""The detector package's import graph: no cycles, shared types in a module that imports nothing of
the package, backends that import only those types (and leaf helpers), public names kept."""

from __future__ import annotations

import ast
from pathlib import Path

import edge_agent.detector

PACKAGE = Path(edge_agent.detector.__file__).parent
BACKENDS = ("onnx_runtime", "openvino_runtime")


def imports_of(module: str) -> set[str]:
    """The edge_agent.detector modules ``module`` imports anywhere (function-level imports too)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith("edge_agent.detector."):
                found.add(name.removeprefix("edge_agent.detector.").split(".")[0])
            elif name.startswith("edge_agent"):
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    return {p.stem: imports_of(p.stem) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_the_detector_modules_import_each_other_without_a_cycle() -> None:
    edges = graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, f"import cycle: {' -> '.join([*visiting, module])}"
        if module in done or module not in edges:
            return
        visiting.append(module)
        for target in edges[module]:
            visit(target)
        visiting.pop()
        done.add(module)

    for module in edges:
        visit(module)


def test_shared_types_import_nothing_of_the_agent_and_backends_only_the_types() -> None:
    edges = graph()
    assert edges["types"] == set()
    for backend in BACKENDS:
        neutral = {"types", "letterbox", "onnx_metadata", "ov_archive"}
        assert edges[backend] <= neutral, (backend, edges[backend])
    # OpenVINO reads the ONNX metadata from the neutral module, not from the ONNX Runtime backend
    assert "onnx_runtime" not in edges["openvino_runtime"]
    assert edges["onnx_metadata"] <= {"types"}
    # the INT8 archive reader (OpenVINO IR in a zip) is neutral too: it imports nothing of the package
    assert edges["ov_archive"] <= {"types"}
    # nothing in the detector package reaches back into the agent
    assert not any(m.startswith("edge_agent") for targets in edges.values() for m in targets)


def test_public_names_are_kept() -> None:
    from edge_agent.detector import (  # noqa: F401
        DetectionResult,
        Detector,
        DetectorConfig,
        ModelLoadError,
        PrecisionUnavailable,
        choose_precision,
        load_detector,
        offered_precisions,
        resolve_runtime,
    )
    from edge_agent.detector.backend import FinishedForward, split_threads  # noqa: F401
    from edge_agent.detector.base import openvino_available  # noqa: F401
    from edge_agent.detector.base import resolve_runtime as resolve_from_base
    from edge_agent.detector.onnx_runtime import read_onnx_metadata  # noqa: F401
    from edge_agent.detector.types import DetectorConfig as FromTypes

    assert DetectorConfig is FromTypes and resolve_from_base is resolve_runtime
