"""How much the reviewers had to fix: each reviewed box compared with the model's pre-annotation.

Per class, a predicted box is **unchanged** (kept, same class, IoU >= 0.9 with what was
submitted), **moved** (same class, IoU < 0.9), **reclassed** (given another class) or
**deleted**; a box the reviewer drew that the model did not predict is **added**. A prediction
and a submitted box are the same object when Label Studio kept the region's id (it does when a
reviewer edits a pre-annotation), else when they overlap with IoU >= 0.5 (one-to-one, the
largest overlaps first). Unchanged, moved, reclassed and deleted count under the predicted class;
added under the reviewer's class.

Summed over the frames reviewed for each model version, this is a label-free view of how good
the model is on new data, and of how much each release saved the reviewers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskops_contracts.classes import CLASS_NAMES

KINDS = ("unchanged", "moved", "reclassed", "deleted", "added")
#: IoU at or above which a kept box counts as accepted unchanged.
UNCHANGED_IOU = 0.9
#: IoU at or above which two boxes without a shared region id are the same object.
MATCH_IOU = 0.5

Counts = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Region:
    """A rectangle region of a Label Studio result, in pixels."""

    region_id: str
    x1: float
    y1: float
    x2: float
    y2: float
    class_name: str


def regions_of(result: Iterable[Mapping[str, Any]]) -> list[Region]:
    """The rectangle regions of a Label Studio ``result`` list (percent coordinates -> pixels)."""
    regions = []
    for item in result:
        if item.get("type") != "rectanglelabels":
            continue
        value = item["value"]
        width, height = float(item["original_width"]), float(item["original_height"])
        x, y = float(value["x"]) / 100 * width, float(value["y"]) / 100 * height
        w, h = float(value["width"]) / 100 * width, float(value["height"]) / 100 * height
        regions.append(Region(str(item.get("id", "")), x, y, x + w, y + h, str(value["rectanglelabels"][0])))
    return regions


def iou(a: Region, b: Region) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / union if union > 0 else 0.0


def empty_counts(class_names: tuple[str, ...] = CLASS_NAMES) -> Counts:
    return {name: dict.fromkeys(KINDS, 0) for name in class_names}


def compare(predicted: list[Region], submitted: list[Region]) -> Counts:
    """Per class and kind, what the reviewer did to the model's boxes on one frame."""
    counts = empty_counts()
    pairs: list[tuple[Region, Region]] = []
    by_id = {r.region_id: r for r in submitted if r.region_id}
    left_pred = []
    for pred in predicted:
        match = by_id.pop(pred.region_id, None) if pred.region_id else None
        if match is None:
            left_pred.append(pred)
        else:
            pairs.append((pred, match))
    left_sub = [r for r in submitted if r not in {m for _, m in pairs}]
    candidates = sorted(
        ((iou(p, s), i, j) for i, p in enumerate(left_pred) for j, s in enumerate(left_sub)), reverse=True
    )
    used_p: set[int] = set()
    used_s: set[int] = set()
    for overlap, i, j in candidates:
        if overlap < MATCH_IOU:
            break
        if i in used_p or j in used_s:
            continue
        used_p.add(i)
        used_s.add(j)
        pairs.append((left_pred[i], left_sub[j]))
    for pred, sub in pairs:
        row = counts.setdefault(pred.class_name, dict.fromkeys(KINDS, 0))
        if sub.class_name != pred.class_name:
            row["reclassed"] += 1
        elif iou(pred, sub) >= UNCHANGED_IOU:
            row["unchanged"] += 1
        else:
            row["moved"] += 1
    for i, pred in enumerate(left_pred):
        if i not in used_p:
            counts.setdefault(pred.class_name, dict.fromkeys(KINDS, 0))["deleted"] += 1
    for j, sub in enumerate(left_sub):
        if j not in used_s:
            counts.setdefault(sub.class_name, dict.fromkeys(KINDS, 0))["added"] += 1
    return counts


def add_counts(total: Counts, more: Mapping[str, Mapping[str, int]]) -> Counts:
    for name, row in more.items():
        target = total.setdefault(name, dict.fromkeys(KINDS, 0))
        for kind in KINDS:
            target[kind] += int(row.get(kind, 0))
    return total


def by_model_version(records: Iterable[Mapping[str, Any]]) -> dict[str, Counts]:
    """Correction counts summed per model version over image records that carry them."""
    out: dict[str, Counts] = {}
    for record in records:
        if "corrections" not in record:
            continue
        version = str(record.get("model_version") or "unknown")
        add_counts(out.setdefault(version, empty_counts()), record["corrections"])
    return out


def totals(counts: Counts) -> dict[str, int]:
    """Counts per kind over all classes."""
    return {kind: sum(row.get(kind, 0) for row in counts.values()) for kind in KINDS}


def markdown_table(counts: Counts) -> str:
    lines = ["| class | " + " | ".join(KINDS) + " |", "|---" * (len(KINDS) + 1) + "|"]
    for name, row in counts.items():
        lines.append(f"| {name} | " + " | ".join(str(row.get(k, 0)) for k in KINDS) + " |")
    all_kinds = totals(counts)
    lines.append("| **all** | " + " | ".join(f"**{all_kinds[k]}**" for k in KINDS) + " |")
    return "\n".join(lines) + "\n"


_COLOURS = {
    "unchanged": "#2ca02c",
    "moved": "#1f77b4",
    "reclassed": "#9467bd",
    "deleted": "#d62728",
    "added": "#ff7f0e",
}


def plot_corrections(per_version: Mapping[str, Counts], path: Path) -> Path:
    """One panel per class: for each model version, the reviewed boxes stacked by what was done."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    versions = list(per_version)
    classes = list(CLASS_NAMES)
    fig, axes = plt.subplots(1, len(classes), figsize=(4 * len(classes), 3.8), dpi=100, sharey=True)
    for ax, name in zip(axes, classes, strict=True):
        bottom = [0] * len(versions)
        for kind in KINDS:
            heights = [per_version[v].get(name, {}).get(kind, 0) for v in versions]
            ax.bar(range(len(versions)), heights, bottom=bottom, color=_COLOURS[kind], label=kind)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xticks(range(len(versions)), versions, rotation=20, ha="right", fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("model version")
    axes[0].set_ylabel("boxes")
    axes[-1].legend(fontsize=8, loc="upper right")
    fig.suptitle("What reviewers did to the model's boxes, per model version", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
