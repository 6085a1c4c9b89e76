"""Pictures of an evaluation for reviewers: confusion matrix, PR curves, per-class bars (PNG).

matplotlib with the non-interactive Agg backend, so this runs on a headless server and in CI.
A champion result, when given, is drawn beside the candidate so the comparison is one glance.
"""

from __future__ import annotations

from pathlib import Path

from maskops_assets.evaluation.metrics import EvaluationResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(result: EvaluationResult, path: Path, *, title: str = "") -> Path:
    """Counts per (predicted, true) pair, background last; columns normalised to show recall.

    Drawn at the result's operating confidence threshold (what a camera keeps), said in the title.
    """
    import numpy as np

    plt = _pyplot()
    labels = result.confusion_labels
    matrix = np.asarray(result.confusion_matrix, dtype=float)
    if matrix.size == 0:
        matrix = np.zeros((len(labels), len(labels)))
    column_sums = matrix.sum(axis=0, keepdims=True)
    normalised = np.divide(matrix, column_sums, out=np.zeros_like(matrix), where=column_sums > 0)
    fig, ax = plt.subplots(figsize=(5.5, 4.8), dpi=100)
    image = ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    for row in range(matrix.shape[0]):
        for col in range(matrix.shape[1]):
            ax.text(
                col,
                row,
                f"{int(matrix[row, col])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if normalised[row, col] > 0.5 else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(
        title
        or f"confusion matrix ({result.split}) at conf >= {result.conf_threshold:g}, the camera's threshold",
        fontsize=9,
    )
    return _save(fig, path)


def plot_pr_curve(result: EvaluationResult, path: Path, *, champion: EvaluationResult | None = None) -> Path:
    """Precision over recall at IoU 0.5 per class; the champion's curves dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=100)
    recall = result.pr_curve.get("recall", [])
    for name in result.per_class:
        ap50 = result.per_class[name].ap50
        if name in result.pr_curve:
            line = ax.plot(recall, result.pr_curve[name], label=f"{name} AP50 {ap50:.3f}")[0]
            if champion is not None and name in champion.pr_curve:
                ax.plot(
                    champion.pr_curve["recall"],
                    champion.pr_curve[name],
                    linestyle="--",
                    color=line.get_color(),
                    alpha=0.6,
                    label=f"{name} (champion)",
                )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"PR curve ({result.split}), mAP50 {result.map50:.3f}", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path)


def plot_per_class(result: EvaluationResult, path: Path, *, champion: EvaluationResult | None = None) -> Path:
    """Bars of precision, recall and AP50 per class; the champion's recall as markers."""
    import numpy as np

    plt = _pyplot()
    names = list(result.per_class)
    x = np.arange(len(names))
    width = 0.26
    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=100)
    for offset, metric in zip((-width, 0.0, width), ("precision", "recall", "ap50"), strict=True):
        values = [getattr(result.per_class[n], metric) or 0.0 for n in names]
        ax.bar(x + offset, values, width, label=metric)
    if champion is not None:
        reference = [(champion.per_class[n].recall if n in champion.per_class else None) for n in names]
        points = [(i, r) for i, r in enumerate(reference) if r is not None]
        if points:
            ax.scatter(
                [i for i, _ in points],
                [r for _, r in points],
                marker="_",
                s=400,
                color="black",
                label="champion recall",
                zorder=3,
            )
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"per-class metrics ({result.split})", fontsize=10)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_int8_vs_fp32(
    fp32: EvaluationResult, int8: EvaluationResult, path: Path, *, max_drop: float
) -> Path:
    """AP50 per class and mAP50 of the INT8 model beside the fp32 model, measured the same way;
    the title says the drop and whether it is within ``max_drop``."""
    import numpy as np

    plt = _pyplot()
    names = [n for n in fp32.per_class if fp32.per_class[n].ap50 is not None]
    labels = [*names, "mAP50"]
    values = {
        "fp32": [*(fp32.per_class[n].ap50 or 0.0 for n in names), fp32.map50],
        "int8": [
            *((int8.per_class[n].ap50 or 0.0) if n in int8.per_class else 0.0 for n in names),
            int8.map50,
        ],
    }
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=100)
    for offset, (name, bars) in zip((-0.2, 0.2), values.items(), strict=True):
        ax.bar(x + offset, bars, 0.4, label=f"{name} ({fp32.runtime})")
    drop = fp32.map50 - int8.map50
    verdict = "within" if drop <= max_drop + 1e-12 else "OVER"
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(
        f"INT8 vs fp32 on '{fp32.split}': mAP50 drop {drop:+.4f}, {verdict} {max_drop:.4f}", fontsize=10
    )
    ax.legend(fontsize=7)
    return _save(fig, path)


def render_plots(
    result: EvaluationResult, out_dir: Path, *, champion: EvaluationResult | None = None, prefix: str = ""
) -> dict[str, Path]:
    """All three plots of ``result`` as PNG files in ``out_dir``; returns name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{prefix}{result.split}"
    return {
        "confusion_matrix": plot_confusion_matrix(result, out_dir / f"{stem}_confusion_matrix.png"),
        "pr_curve": plot_pr_curve(result, out_dir / f"{stem}_pr_curve.png", champion=champion),
        "per_class": plot_per_class(result, out_dir / f"{stem}_per_class.png", champion=champion),
    }


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
