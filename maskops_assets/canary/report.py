"""The canary verdict as markdown: what was decided, each signal's test, and the shadow evidence."""

from __future__ import annotations

from maskops_assets.canary.statistics import CanaryVerdict


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def verdict_markdown(verdict: CanaryVerdict) -> str:
    """The verdict's report: summary, a line per signal, and (when looked up) the shadow section."""
    parts = [
        f"**{verdict.status}** (canary {verdict.canary_model} vs champion {verdict.champion_model}, "
        f"release {verdict.release_id}): {verdict.summary}",
        f"Window {verdict.since:%Y-%m-%d %H:%M:%S} .. {verdict.until:%Y-%m-%d %H:%M:%S} UTC: "
        f"{verdict.canary_frames} canary / {verdict.control_frames} control frames.",
    ]
    if verdict.comparisons:
        rows = ["| signal | canary | control | p | degraded | note |", "|---|---|---|---|---|---|"]
        rows += [
            f"| {c.signal} | {_figure(c.canary)} | {_figure(c.control)} | {_figure(c.p_value)} | "
            f"{'yes' if c.degraded else 'no'} | {c.note} |"
            for c in verdict.comparisons
        ]
        parts.append("\n".join(rows))
    if verdict.shadow is not None:
        parts.append(verdict.shadow.markdown())
    return "\n\n".join(parts)
