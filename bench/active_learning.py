"""Active learning on the generator's shift: how many labels does each sampling rule need?

v1 is trained from scratch (``yolov8n.yaml``, no downloaded weights) on domain A
(``SceneDomain.default()``), exported with the release exporter and run, through the edge agent's
own detector (``edge_agent.detector.load_detector``, the camera's default settings), over a pool of
unlabeled domain-B frames (``SceneDomain.shifted()``). Each strategy ranks the pool with the edge
sampler's own code (``edge_agent.sampler.frame_priority`` with only that rule switched on, then
``rank_for_labeling``: highest priority first, as a full outbox keeps them), and the top ``budget``
frames get their ground-truth labels (a simulated annotator). For every budget, v1 is fine-tuned with
the platform's trainer on the base (A) images plus the selected B labels, exported, and scored on a
held-out B test set with ``evaluate_on_edge`` (the gate's mAP50). ``random`` ranks with no rule at
all: a uniform random sample. Each seed draws its own pool, its own random order and its own
fine-tuning seed; v1 and the test set are shared, so the seeds' comparison is paired.

It prints one line per fine-tune, a table of mAP50 (mean ± std over seeds), how many labels each
strategy needs to reach random's mAP50 at the largest budget (interpolated on the mean curve, v1
being the point at 0 labels) and that as a share of random's; draws mAP50 against labels with the
seeds' spread. Exit code 1 when no strategy needs at most ``--target-ratio`` (0.6) of random's labels.

    .venv/bin/python bench/active_learning.py     # 3 seeds x 5 strategies x budgets 10 40: 30 fine-tunes
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from edge_agent.sampler import SamplerConfig, frame_priority, rank_for_labeling
from maskops_assets.synthetic.dataset import generate_dataset
from maskops_assets.synthetic.domain import SceneDomain

RANDOM = "random"
# One rule on per strategy, at a threshold that lets it score every frame with a box (the band keeps
# the camera's default (0.4, 0.7): a frame with no box inside it scores nothing, as on the camera).
_ALL_OFF = {"uncertainty_band": None, "margin": None, "max_per_minute": None, "max_per_hour": None}
STRATEGIES: dict[str, dict] = {
    "uncertainty_band": {"uncertainty_band": (0.4, 0.7)},
    "least_confidence": {"least_confidence": 0.0},
    "margin": {"margin": 1.0},
    "entropy": {"entropy": 0.0},
    RANDOM: {},
}
# Knobs that let yolov8n learn in a few epochs at a small size on 2 CPU cores (tests/platform TINY_TRAIN).
FAST_TRAIN = {
    "batch": 8,
    "nbs": 8,
    "warmup_epochs": 0.0,
    "mosaic": 0.0,
    "close_mosaic": 0,
    "optimizer": "SGD",
}


@dataclass(frozen=True)
class Trial:
    """One fine-tune: v1 plus ``labels`` B frames chosen by ``strategy`` on the pool of ``seed``."""

    strategy: str
    seed: int
    labels: int
    map50: float
    seconds: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds (pools, random orders, fine-tunes)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 40], help="labels per run")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--pool", type=int, default=200, help="unlabeled domain-B frames per seed")
    parser.add_argument("--n-test", type=int, default=60, help="held-out domain-B test frames")
    parser.add_argument("--n-base", type=int, default=60, help="domain-A training images (v1 and base)")
    parser.add_argument("--n-base-val", type=int, default=8, help="domain-A validation images")
    parser.add_argument(
        "--n-replay", type=int, default=20, help="base A images replayed in each fine-tune (<= n-base)"
    )
    parser.add_argument("--v1-epochs", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=5, help="epochs of each fine-tune")
    parser.add_argument("--lr0", type=float, default=0.02, help="fine-tune learning rate (v1: 0.05)")
    parser.add_argument("--imgsz", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target-ratio", type=float, default=0.6)
    parser.add_argument("--work", type=Path, default=Path("var/bench/active_learning"), help="scratch data")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="PNG and JSON figures")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="print and draw the seeds already complete in --work for these settings; run nothing",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or not args.budgets or min(args.budgets) < 1 or max(args.budgets) > args.pool:
        parser.error("need --seeds >= 1 and budgets between 1 and --pool")
    if RANDOM not in args.strategies:
        parser.error("--strategies must include random: it is the baseline the others are measured against")
    args.budgets = sorted(set(args.budgets))
    args.n_replay = min(args.n_replay, args.n_base)
    return args


# ---------------------------------------------------------------- pure figures (tested)


def labels_to_reach(labels: Sequence[float], map50: Sequence[float], target: float) -> float | None:
    """The label count at which the curve ``(labels, map50)`` first reaches ``target``, linearly
    interpolated between the two budgets around the crossing; None when it never does."""
    points = sorted(zip(labels, map50, strict=True))
    for k, (x, y) in enumerate(points):
        if y >= target:
            if k == 0:
                return float(x)
            x0, y0 = points[k - 1]
            return float(x0 + (target - y0) / (y - y0) * (x - x0))
    return None


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(trials: Sequence[Trial], v1_map50: float) -> dict[str, dict]:
    """Per strategy: the budgets, mean and std mAP50 per budget (v1 at 0 labels first)."""
    summary: dict[str, dict] = {}
    for strategy in dict.fromkeys(t.strategy for t in trials):
        budgets = sorted({t.labels for t in trials if t.strategy == strategy})
        stats = [
            mean_std([t.map50 for t in trials if t.strategy == strategy and t.labels == b]) for b in budgets
        ]
        summary[strategy] = {
            "labels": [0, *budgets],
            "mean": [v1_map50, *(m for m, _ in stats)],
            "std": [0.0, *(s for _, s in stats)],
        }
    return summary


def labels_needed(summary: dict[str, dict]) -> tuple[float, dict[str, float | None]]:
    """Random's mean mAP50 at its largest budget, and the labels each strategy needs to reach it."""
    target = summary[RANDOM]["mean"][-1]
    return target, {name: labels_to_reach(s["labels"], s["mean"], target) for name, s in summary.items()}


# ---------------------------------------------------------------- data and models


def make_data(work: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """Domain-A base (train, val) and the held-out domain-B test set; their data.yaml paths."""
    base = generate_dataset(
        work / "base_a",
        args.n_base + args.n_base_val,
        domain=SceneDomain.default(),
        seed=1000,
        image_size=args.imgsz,
        splits={"train": args.n_base, "val": args.n_base_val},
        overwrite=True,
    )
    test = generate_dataset(
        work / "test_b",
        args.n_test,
        domain=SceneDomain.shifted(),
        seed=2000,
        image_size=args.imgsz,
        splits={"test": 1.0},
        overwrite=True,
    )
    return base, test


def make_pool(work: Path, seed: int, args: argparse.Namespace) -> list[Path]:
    """``args.pool`` domain-B frames for ``seed``, with their ground truth beside them (YOLO layout)."""
    data_yaml = generate_dataset(
        work / f"pool_b_seed{seed}",
        args.pool,
        domain=SceneDomain.shifted(),
        seed=3000 + seed,
        image_size=args.imgsz,
        splits={"train": 1.0},
        overwrite=True,
    )
    return sorted((data_yaml.parent / "images" / "train").glob("*.jpg"))


def train_cfg(args: argparse.Namespace, **overrides):
    from maskops_assets.training.trainer import TrainConfig

    knobs = {**FAST_TRAIN, "imgsz": args.imgsz, "threads": args.threads, **overrides}
    return TrainConfig(**knobs)


def train_v1(base_yaml: Path, work: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """v1 from scratch on domain A; (its weights, its exported ONNX). Reused when a run with the same
    recipe left them (the base data is regenerated from fixed seeds, so it is the same)."""
    from maskops_assets.training.trainer import train_detector

    out_dir = work / f"v1_{args.imgsz}px_{args.v1_epochs}ep_{args.n_base}img"
    if (out_dir / "model.pt").is_file() and (out_dir / "model.onnx").is_file():
        print(f"v1: reusing {out_dir}", flush=True)
        return out_dir / "model.pt", out_dir / "model.onnx"
    print(
        f"training v1 from yolov8n.yaml on {args.n_base} domain-A images, {args.v1_epochs} epochs", flush=True
    )
    result = train_detector(
        base_yaml,
        train_cfg(args, model="yolov8n.yaml", epochs=args.v1_epochs, lr0=0.05),
        work / "runs",
        run_name="v1",
        settings_dir=work / ".ultralytics",
    )
    print(f"v1 trained in {result.seconds:.0f} s, domain-A val mAP50 {result.metrics.get('map50', 0):.3f}")
    onnx = export(result.weights, out_dir, "v1", args)
    return out_dir / "model.pt", onnx


def export(weights: Path, out_dir: Path, version: str, args: argparse.Namespace) -> Path:
    from maskops_assets.training.export import export_onnx

    return export_onnx(
        weights,
        out_dir,
        imgsz=args.imgsz,
        model_version=version,
        settings_dir=out_dir.parent / ".ultralytics",
    ).onnx


def score_on_b(onnx: Path, test_yaml: Path, args: argparse.Namespace) -> float:
    """mAP50 on the held-out B frames, the way the release gate measures it (edge pipeline, COCO)."""
    from maskops_assets.evaluation.metrics import EdgeSettings, evaluate_on_edge

    result = evaluate_on_edge(
        onnx,
        test_yaml,
        "test",
        imgsz=args.imgsz,
        settings=EdgeSettings(threads=args.threads),
        latency_runs=0,
        progress=lambda _line: None,
    )
    return result.map50


def detect_pool(onnx: Path, pool: list[Path], args: argparse.Namespace) -> list:
    """v1's DetectionResult on every pool frame, run the way a camera runs a model given by path."""
    import cv2

    from edge_agent.detector import DetectorConfig, load_detector

    detector = load_detector(
        onnx, model_version="v1", cfg=DetectorConfig(threads=args.threads), imgsz=args.imgsz
    )
    return [detector.detect(cv2.imread(str(path), cv2.IMREAD_COLOR)) for path in pool]


def selection_order(strategy: str, results: list, seed: int) -> tuple[list[int], int]:
    """The pool ranked by ``strategy`` with the edge sampler's scoring; and how many frames it scored."""
    cfg = SamplerConfig(**{**_ALL_OFF, **STRATEGIES[strategy]})
    priorities = [None if strategy == RANDOM else frame_priority(result, cfg) for result in results]
    rng = np.random.default_rng([seed, list(STRATEGIES).index(strategy)])
    return rank_for_labeling(priorities, rng), sum(p is not None for p in priorities)


def write_finetune_yaml(base_yaml: Path, selected: list[Path], out_dir: Path, n_replay: int) -> Path:
    """A data.yaml training on the first ``n_replay`` base A images plus the selected B frames (labels
    beside them), validating on A."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = yaml.safe_load(base_yaml.read_text())
    root = base_yaml.parent
    train_list = out_dir / "train.txt"
    images = sorted((root / "images" / "train").glob("*.jpg"))[:n_replay] + selected
    train_list.write_text("".join(f"{p.resolve()}\n" for p in images))
    config = {
        "path": str(out_dir.resolve()),
        "train": str(train_list.resolve()),
        "val": str((root / "images" / "val").resolve()),
        "names": base["names"],
    }
    data_yaml = out_dir / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(config, sort_keys=False))
    return data_yaml


def fine_tune(v1_pt: Path, data_yaml: Path, out_dir: Path, seed: int, args: argparse.Namespace) -> Path:
    """v1 fine-tuned for ``args.epochs``; the ONNX of its last epoch (the schedule's end, not the
    epoch that scored best on domain-A validation)."""
    from maskops_assets.training.trainer import train_detector

    result = train_detector(
        data_yaml,
        train_cfg(args, model=str(v1_pt), epochs=args.epochs, lr0=args.lr0, seed=seed),
        out_dir,
        run_name="ft",
        settings_dir=out_dir.parent.parent / ".ultralytics",
    )
    last = result.run_dir / "weights" / "last.pt"
    return export(last if last.is_file() else result.weights, out_dir / "export", "candidate", args)


# ---------------------------------------------------------------- report


def print_report(
    summary: dict[str, dict], target: float, needed: dict[str, float | None], ratio: float
) -> str:
    """The mAP50 table and the labels each strategy needs; returns the verdict line."""
    budgets = summary[RANDOM]["labels"]
    print("\nmAP50 on held-out domain B (mean ± std over seeds; 0 labels = v1)")
    print(f"{'strategy':<18}" + "".join(f"{b:>15}" for b in budgets))
    for name, s in summary.items():
        cells = "".join(f"{m:>8.3f} ±{sd:5.3f}" for m, sd in zip(s["mean"], s["std"], strict=True))
        print(f"{name:<18}{cells}")
    random_needs = needed[RANDOM]
    print(f"\nlabels to reach random's mAP50 at {budgets[-1]} labels ({target:.3f}):")
    print(f"{'strategy':<18}{'labels':>12}{'vs random':>12}")
    shares: dict[str, float] = {}
    for name, labels in needed.items():
        if labels is None or not random_needs:
            print(f"{name:<18}{'not reached':>12}" if labels is None else f"{name:<18}{labels:>12.1f}")
            continue
        shares[name] = labels / random_needs
        print(f"{name:<18}{labels:>12.1f}{shares[name]:>12.0%}")
    others = {n: s for n, s in shares.items() if n != RANDOM}
    if not others:
        return (
            f"no strategy reaches random's final mAP50 {target:.3f}: "
            f"target (<= {ratio:.0%} of random's labels) MISSED"
        )
    best = min(others, key=others.__getitem__)
    met = others[best] <= ratio
    return (
        f"best strategy {best}: {others[best]:.0%} of random's labels (target <= {ratio:.0%}) "
        f"{'MET' if met else 'MISSED'}"
    )


def plot(summary: dict[str, dict], target: float, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, s in summary.items():
        mean, std = np.asarray(s["mean"]), np.asarray(s["std"])
        style = {"color": "black", "linestyle": "--"} if name == RANDOM else {}
        (line,) = ax.plot(s["labels"], mean, marker="o", label=name, **style)
        ax.fill_between(s["labels"], mean - std, mean + std, alpha=0.12, color=line.get_color())
    ax.axhline(target, color="grey", linewidth=0.8, linestyle=":", label="random's final mAP50")
    ax.set_xlabel("labeled domain-B frames")
    ax.set_ylabel("mAP50 on held-out domain B")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- the trials


def trials_file(work: Path, args: argparse.Namespace) -> Path:
    """Where finished trials are appended, one JSON line each; named by everything that shapes a trial,
    so a rerun with the same recipe skips what is done and a different recipe starts afresh."""
    tag = (
        f"{args.imgsz}px_v1-{args.v1_epochs}ep_base{args.n_base}_replay{args.n_replay}_pool{args.pool}"
        f"_test{args.n_test}_ep{args.epochs}_lr{args.lr0:g}"
    )
    return work / f"trials_{tag}.jsonl"


def load_trials(path: Path) -> dict[tuple[str, int, int], Trial]:
    if not path.is_file():
        return {}
    trials = [Trial(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    return {(t.strategy, t.seed, t.labels): t for t in trials}


def run_trials(
    work: Path, base_yaml: Path, test_yaml: Path, v1_pt: Path, v1_onnx: Path, args: argparse.Namespace
) -> list[Trial]:
    """Every (seed, strategy, budget) fine-tune, seed by seed; one progress line each."""
    path = trials_file(work, args)
    done = load_trials(path)
    wanted = [(st, seed, b) for seed in range(args.seeds) for st in args.strategies for b in args.budgets]
    todo = sum(key not in done for key in wanted)
    if len(wanted) > todo:
        print(f"{len(wanted) - todo} trial(s) already done in {path.name}; {todo} to run", flush=True)
    started, ran = time.monotonic(), 0
    for seed in range(args.seeds):
        if all((st, seed, b) in done for st in args.strategies for b in args.budgets):
            continue
        pool = make_pool(work, seed, args)
        results = detect_pool(v1_onnx, pool, args)
        print(
            f"seed {seed}: v1 found {sum(len(r.detections) for r in results)} boxes on {args.pool} pool "
            f"frames ({sum(1 for r in results if r.detections)} frames with a box)",
            flush=True,
        )
        for strategy in args.strategies:
            order, scored = selection_order(strategy, results, seed)
            for budget in args.budgets:
                if (strategy, seed, budget) in done:
                    continue
                t0 = time.monotonic()
                run_dir = work / "finetunes" / f"{strategy}_b{budget}_s{seed}"
                selected = [pool[i] for i in order[:budget]]
                data_yaml = write_finetune_yaml(base_yaml, selected, run_dir, args.n_replay)
                map50 = score_on_b(fine_tune(v1_pt, data_yaml, run_dir, seed, args), test_yaml, args)
                shutil.rmtree(run_dir, ignore_errors=True)  # weights and exports: ~20 MB a run
                trial = Trial(strategy, seed, budget, map50, time.monotonic() - t0)
                done[(strategy, seed, budget)] = trial
                with path.open("a") as handle:
                    handle.write(json.dumps(asdict(trial)) + "\n")
                ran += 1
                eta = (time.monotonic() - started) / ran * (todo - ran) / 60
                print(
                    f"[{len(wanted) - todo + ran}/{len(wanted)}] seed {seed} {strategy:<16} "
                    f"{budget:>4} labels "
                    f"(sampler scored {scored}/{args.pool} frames): mAP50 {map50:.3f} "
                    f"({trial.seconds:.0f} s, eta {eta:.0f} min)",
                    flush=True,
                )
    return [done[key] for key in wanted]


# ---------------------------------------------------------------- main


def complete_seeds(trials: dict[tuple[str, int, int], Trial], args: argparse.Namespace) -> list[Trial]:
    """The trials of the seeds for which every strategy and budget is done (for --report-only)."""
    keys = [(st, b) for st in args.strategies for b in args.budgets]
    seeds = sorted({seed for _, seed, _ in trials})
    return [
        trials[(st, seed, b)]
        for seed in seeds
        if all((st, seed, b) in trials for st, b in keys)
        for st, b in keys
    ]


def report(trials: list[Trial], v1_map50: float, args: argparse.Namespace) -> str:
    """Print the table and the labels needed, draw the picture, write the figures; the verdict."""
    seeds = len({t.seed for t in trials})
    summary = summarise(trials, v1_map50)
    target, needed = labels_needed(summary)
    verdict = print_report(summary, target, needed, args.target_ratio)
    print(verdict)
    title = (
        f"v1 (domain A) fine-tuned on {args.n_replay} A images + the selected B frames' labels\n"
        f"{seeds} seed(s), pool {args.pool}, test {args.n_test}, {args.epochs} epochs, {args.imgsz}px; "
        "band: ± 1 std over seeds"
    )
    png = plot(summary, target, args.out / "active_learning.png", title)
    figures = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "seeds": seeds,
        "v1_map50": v1_map50,
        "summary": summary,
        "target": target,
        "labels_needed": needed,
        "verdict": verdict,
        "trials": [asdict(t) for t in trials],
    }
    (args.out / "active_learning.json").write_text(json.dumps(figures, indent=1))
    print(f"picture: {png}")
    return verdict


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
    started = time.monotonic()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        # Reads what a run (finished or still going) left; regenerates nothing.
        trials = complete_seeds(load_trials(trials_file(work, args)), args)
        if not trials:
            print(f"error: no seed is complete in {trials_file(work, args)}", file=sys.stderr)
            return 2
        v1_onnx = work / f"v1_{args.imgsz}px_{args.v1_epochs}ep_{args.n_base}img" / "model.onnx"
        v1_map50 = score_on_b(v1_onnx, work / "test_b" / "data.yaml", args)
    else:
        print(
            f"data: {args.n_base}+{args.n_base_val} A images, {args.pool} B pool/seed, {args.n_test} B test, "
            f"{args.imgsz}px",
            flush=True,
        )
        base_yaml, test_yaml = make_data(work, args)
        v1_pt, v1_onnx = train_v1(base_yaml, work, args)
        v1_map50 = score_on_b(v1_onnx, test_yaml, args)
        print(f"v1 on held-out domain B: mAP50 {v1_map50:.3f}", flush=True)
        trials = run_trials(work, base_yaml, test_yaml, v1_pt, v1_onnx, args)
    verdict = report(trials, v1_map50, args)
    print(f"elapsed {(time.monotonic() - started) / 60:.1f} min")
    return 0 if verdict.endswith(" MET") else 1


if __name__ == "__main__":
    sys.exit(main())
