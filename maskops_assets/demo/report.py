"""The demo's closing figures: v1 against v2 on held-out domain B (the shift) and domain A (no
regression), scored with the release gate's own edge pipeline, printed and drawn as one PNG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from maskops_assets.evaluation.metrics import EdgeSettings, evaluate_on_edge
from maskops_assets.synthetic.dataset import generate_dataset
from maskops_assets.synthetic.domain import SceneDomain
from maskops_contracts.keys import model_key

SPLIT = "test"
#: label -> (short name of the cached set, the generator's domain)
DOMAINS = {
    "B (shifted, the camera's)": ("B", SceneDomain.shifted),
    "A (training domain)": ("A", SceneDomain.default),
}


@dataclass(frozen=True)
class Comparison:
    """mAP50 per model version and domain label."""

    versions: tuple[str, str]
    map50: dict[str, dict[str, float]]  # domain -> version -> mAP50
    picture: Path

    def lines(self) -> list[str]:
        old, new = self.versions
        out = []
        for domain, scores in self.map50.items():
            change = scores[new] - scores[old]
            out.append(
                f"domain {domain:<26} mAP50  {old} {scores[old]:.3f}  ->  "
                f"{new} {scores[new]:.3f}  ({change:+.3f})"
            )
        return out


def held_out_set(out_dir: Path, domain: str, n_images: int, seed: int, imgsz: int) -> Path:
    """data.yaml of a generated evaluation-only set (cached by its recipe)."""
    name, make = DOMAINS[domain]
    target = out_dir / f"{name}-n{n_images}-s{seed}-{imgsz}px"
    data_yaml = target / "data.yaml"
    if not data_yaml.is_file():
        source = generate_dataset(
            target / "yolo",
            n_images,
            domain=make(),
            seed=seed,
            image_size=imgsz,
            splits={SPLIT: 1.0},
            overwrite=True,
        )
        data = yaml.safe_load(source.read_text())
        data.update(path=str(source.parent.resolve()), train=data[SPLIT], val=data[SPLIT])
        data_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    return data_yaml


def model_onnx(store, model_version: str, out_dir: Path) -> Path:
    """The released ONNX of ``model_version``, copied from the store."""
    path = out_dir / model_version / "model.onnx"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.get_bytes(model_key(model_version)))
    return path


def compare(
    store, versions: tuple[str, str], out_dir: Path, *, n_images: int, seed: int, imgsz: int, say=print
) -> Comparison:
    settings = EdgeSettings().resolved()
    scores: dict[str, dict[str, float]] = {}
    for domain in DOMAINS:
        data_yaml = held_out_set(out_dir / "sets", domain, n_images, seed, imgsz)
        scores[domain] = {}
        for version in versions:
            result = evaluate_on_edge(
                model_onnx(store, version, out_dir / "models"),
                data_yaml,
                SPLIT,
                imgsz=imgsz,
                settings=settings,
                latency_runs=0,
            )
            scores[domain][version] = result.map50
            say(
                f"scored {version} on {n_images} held-out images of domain {domain}: mAP50 {result.map50:.3f}"
            )
    picture = plot(versions, scores, out_dir / "v1_vs_v2.png")
    return Comparison(versions, scores, picture)


def plot(versions: tuple[str, str], scores: dict[str, dict[str, float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    domains = list(scores)
    width = 0.38
    for i, version in enumerate(versions):
        xs = [d + (i - 0.5) * width for d in range(len(domains))]
        values = [scores[domain][version] for domain in domains]
        bars = ax.bar(xs, values, width, label=version)
        ax.bar_label(bars, fmt="%.2f", padding=2)
    ax.set_xticks(range(len(domains)), [f"domain {d}" for d in domains])
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("mAP50 (held-out, edge pipeline)")
    ax.set_title("maskops demo: the model before and after the closed loop")
    ax.legend(loc="upper center", ncol=2, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
