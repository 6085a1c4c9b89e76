"""deploy/helm/values.yaml cannot be installed here (no cluster): check what can be checked. It
parses, and every key path it sets exists in Dagster's Helm chart schema (deploy/helm/chart_keys.yaml,
copied from the chart's schema with its source), so a typo or a key of another chart version fails."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def key_paths(node, prefix: str = "") -> list[str]:
    """Every leaf path of a YAML value: ``a.b``, ``a.list[].c``; a list of scalars is one leaf."""
    if isinstance(node, dict):
        paths = []
        for key, value in node.items():
            paths += key_paths(value, f"{prefix}.{key}" if prefix else str(key))
        return paths or [prefix]
    if isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
        return sorted({path for item in node for path in key_paths(item, f"{prefix}[]")})
    return [prefix]


def known(path: str, chart_paths: set[str]) -> bool:
    if path in chart_paths:
        return True
    parts = path.split(".")
    return any(".".join(parts[:n]) + ".*" in chart_paths for n in range(1, len(parts)))


def test_helm_values_parse_and_use_only_keys_of_the_chart():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    chart = yaml.safe_load((DEPLOY / "helm" / "chart_keys.yaml").read_text())
    assert chart["chart"] == "dagster/dagster" and chart["version"] == "1.13.27"
    chart_paths = set(chart["paths"])
    used = key_paths(values)
    unknown = [path for path in used if not known(path, chart_paths)]
    assert not unknown, f"not keys of the chart (deploy/helm/chart_keys.yaml): {unknown}"
    # the profile's queue, as in deploy/production/dagster.yaml
    profile = yaml.safe_load((DEPLOY / "production" / "dagster.yaml").read_text())
    runs = profile["concurrency"]["runs"]
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert values["concurrency"]["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]


def test_key_paths_and_lookup():
    tree = {"a": {"b": 1, "l": [{"c": 2}, {"d": 3}], "s": ["x", "y"]}, "m": {"free": {"k": 1}}}
    assert key_paths(tree) == ["a.b", "a.l[].c", "a.l[].d", "a.s", "m.free.k"]
    assert known("m.free.k", {"m.free.*"}) and not known("m.other", {"m.free.*"})
    assert not known("a.typo", {"a.b"})
