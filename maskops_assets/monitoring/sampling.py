"""A bounded, camera-stratified sample of a telemetry window.

A busy camera must not drown a quiet one, and the report's cost must not grow with the fleet's
frame rate: each camera gets an equal share of ``max_rows``, a camera with fewer rows keeps all of
them and its unused share goes to the others. The draw is seeded, so the same window gives the
same sample (and the same report).
"""

from __future__ import annotations

import pandas as pd


def camera_quotas(counts: dict[str, int], max_rows: int) -> dict[str, int]:
    """Rows to keep per camera: at most ``max_rows`` in all, as equal as the counts allow."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    quotas = {camera: 0 for camera in counts}
    left = dict(counts)
    budget = max_rows
    while budget > 0 and left:
        share = max(1, budget // len(left))
        for camera in sorted(left, key=lambda c: (left[c], c)):
            take = min(share, left[camera], budget)
            quotas[camera] += take
            left[camera] -= take
            budget -= take
            if budget == 0:
                break
        left = {camera: n for camera, n in left.items() if n > 0}
    return quotas


def sample_per_camera(rows: pd.DataFrame, max_rows: int, *, seed: int = 0) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``rows``, stratified by ``camera_id`` (all rows when fewer)."""
    if len(rows) <= max_rows:
        return rows.reset_index(drop=True)
    counts = rows["camera_id"].value_counts().to_dict()
    quotas = camera_quotas({str(c): int(n) for c, n in counts.items()}, max_rows)
    parts = [
        group.sample(n=quotas[str(camera)], random_state=seed) if quotas[str(camera)] < len(group) else group
        for camera, group in rows.groupby("camera_id", sort=True)
        if quotas[str(camera)] > 0
    ]
    return pd.concat(parts, ignore_index=True)
