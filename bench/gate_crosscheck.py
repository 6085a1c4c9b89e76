"""Cross-check the release gate's recorded mAP against an independent evaluator.

Runs the released ONNX model through the edge agent's detector (the same settings a camera
uses, fp32, every box down to 0.001), scores the boxes with faster-coco-eval (not the
pycocotools the gate uses), and prints that next to the figures the gate recorded on the
model's MLflow run (``eval_test_map50`` / ``eval_test_map50_95``).

    .venv/bin/python bench/gate_crosscheck.py --onnx var/store/models/<v>/model.onnx \
        --data-yaml <dataset>/data.yaml [--mlflow-uri sqlite:///var/mlflow/mlflow.db --run-id <id>]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--onnx", type=Path, required=True)
    parser.add_argument("--data-yaml", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--imgsz", type=int, default=None, help="default: the model's metadata")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--mlflow-uri", default=None)
    parser.add_argument("--run-id", default=None)
    args = parser.parse_args()

    from edge_agent.detector import DetectorConfig, load_detector
    from maskops_assets.evaluation.crosscheck import faster_coco_map
    from maskops_assets.evaluation.metrics import MAP_CONF_THRESHOLD, MAP_MAX_DETECTIONS, split_images
    from maskops_assets.evaluation.operating_point import LabeledBox

    images, class_names = split_images(args.data_yaml, args.split)
    cfg = DetectorConfig(
        runtime=args.runtime,
        precision="fp32",
        threads=1,
        streams=1,
        conf_threshold=MAP_CONF_THRESHOLD,
        max_detections=MAP_MAX_DETECTIONS,
    )
    detector = load_detector(args.onnx, model_version="crosscheck", cfg=cfg, imgsz=args.imgsz)
    index = {name: k for k, name in enumerate(class_names)}
    pairs = []
    for image in images:
        found = detector.detect(cv2.imread(str(image.image))).detections
        pairs.append(
            (
                [LabeledBox((b.x1, b.y1, b.x2, b.y2), index[b.class_name]) for b in image.boxes],
                [LabeledBox(d.box, index[d.class_name], d.confidence) for d in found],
            )
        )
    map50, map50_95 = faster_coco_map(pairs, len(class_names))
    print(
        f"faster-coco-eval on the edge detector ({detector.runtime} {detector.precision}), "
        f"{len(images)} images of '{args.split}': mAP50 {map50:.4f} mAP50-95 {map50_95:.4f}"
    )
    if args.mlflow_uri and args.run_id:
        import mlflow

        metrics = mlflow.MlflowClient(tracking_uri=args.mlflow_uri).get_run(args.run_id).data.metrics
        gate50, gate = metrics.get("eval_test_map50"), metrics.get("eval_test_map50_95")
        print(f"release gate recorded on MLflow run {args.run_id}: mAP50 {gate50:.4f} mAP50-95 {gate:.4f}")
        print(
            f"difference: mAP50 {abs(gate50 - map50):.4f} "
            f"mAP50-95 {abs(gate - map50_95):.4f} (target <= 0.005)"
        )


if __name__ == "__main__":
    main()
