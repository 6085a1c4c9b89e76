"""Post-training INT8 quantization of a released ONNX model with NNCF, for the edge's OpenVINO.

The ONNX model is read with OpenVINO and quantized by NNCF's OpenVINO backend; the result, an
OpenVINO IR (``model.xml`` + ``model.bin``) plus the ONNX metadata the edge reads (class names,
stride, imgsz), is shipped as ONE file, ``model_int8.zip`` (stored, not compressed), so the
release manifest names it with one uri and one sha256. The edge's OpenVINO backend reads the IR
from that archive in memory (``edge_agent.detector.ov_archive``).

Why not an ONNX file with QuantizeLinear/DequantizeLinear nodes (NNCF's ONNX backend), which
would also be one file: measured on the bench model (YOLOv8n at 320, 14 test images, 24 boxes),
that QDQ graph scored mAP50 1.000 on ONNX Runtime but 0.879 on OpenVINO (0.921 with symmetric
activations, 0.928 with the overflow fix), while the IR from the OpenVINO backend scored 1.000 on
OpenVINO: the quantization has to be made for the runtime that runs it. ONNX Runtime therefore
runs the fp32 model; the release gate measures INT8 on OpenVINO only.

Calibration images are drawn (seeded) from the dataset version's training split and fed exactly
as the edge feeds frames: letterboxed to the smallest stride-aligned rectangle whose long side is
``imgsz`` (``edge_agent.detector.letterbox``), RGB in [0, 1], NCHW. The decoding tail of the
YOLOv8 head (DFL, the box arithmetic and the class sigmoid) is left in float, as ultralytics' own
INT8 export does: quantizing pixel coordinates and scores together costs accuracy and no time.

How good the result is, is not decided here: ``model_evaluation`` measures it through the edge
pipeline against the fp32 model, and the ``int8_gate`` check keeps it out of the release
manifest when it drops more than ``int8_max_drop`` mAP50.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskops_assets.training.export import ExportedModel
from maskops_contracts import sha256_file

#: The INT8 model's file: an OpenVINO IR and the ONNX metadata in one archive.
MODEL_INT8 = "model_int8.zip"
#: Calibration images when the config does not say: NNCF's own default subset size.
DEFAULT_CALIBRATION_SIZE = 300
#: Nodes of the YOLOv8 head left in float (ONNX node-name regexes, ultralytics' export names).
HEAD_FLOAT_PATTERNS = (
    r".*/model\.\d+/dfl/.*",
    r".*/model\.\d+/Add.*",
    r".*/model\.\d+/Sub.*",
    r".*/model\.\d+/Mul.*",
    r".*/model\.\d+/Div.*",
)
HEAD_FLOAT_TYPES = ("Sigmoid",)


class QuantizationError(RuntimeError):
    """The model could not be quantized; the message names the file or the calibration data."""


@dataclass(frozen=True)
class QuantizedModel:
    """The INT8 model file, its sha256, and what it was calibrated on."""

    path: Path
    sha256: str
    source_sha256: str
    calibration_images: int
    seconds: float


def calibration_images(
    data_yaml: Path | str, size: int = DEFAULT_CALIBRATION_SIZE, *, split: str = "train", seed: int = 0
) -> list[Path]:
    """Up to ``size`` image files of ``split`` of a YOLO dataset (all of them when it has fewer;
    0 means all), a seeded sample so the same dataset version calibrates the same way every time."""
    from maskops_assets.evaluation.metrics import EvaluationError, split_images

    if size < 0:
        raise QuantizationError(f"calibration size must be >= 0 (0: all images), got {size}")
    try:
        images, _ = split_images(Path(data_yaml), split)
    except EvaluationError as err:
        raise QuantizationError(f"no calibration images: {err}") from err
    paths = sorted(image.image for image in images)
    if size and size < len(paths):
        paths = sorted(random.Random(seed).sample(paths, size))
    return paths


def edge_input(image_bgr: np.ndarray, imgsz: int) -> np.ndarray:
    """The (1, 3, H, W) float tensor the edge detector feeds a dynamic-shape model for this frame."""
    from edge_agent.detector.letterbox import fit_input_shape, letterbox, to_input_tensor

    boxed, _ = letterbox(image_bgr, fit_input_shape(image_bgr.shape[:2], imgsz))
    return to_input_tensor(boxed)


def _read_images(images: Sequence[Path | np.ndarray]) -> Iterator[np.ndarray]:
    import cv2

    for image in images:
        if isinstance(image, np.ndarray):
            yield image
            continue
        frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if frame is None:
            raise QuantizationError(f"cannot read calibration image {image}")
        yield frame


def quantize_onnx(
    onnx_path: Path | str,
    images: Sequence[Path | np.ndarray],
    out_path: Path | str,
    *,
    imgsz: int,
    progress: Callable[[str], None] | None = None,
) -> QuantizedModel:
    """Write the INT8 OpenVINO version of ``onnx_path`` to ``out_path`` (one archive), calibrated
    on ``images`` (files or BGR arrays) letterboxed as the edge does at ``imgsz``."""
    import nncf
    import openvino as ov

    from edge_agent.detector.onnx_metadata import read_onnx_metadata
    from edge_agent.detector.ov_archive import write_ov_archive

    onnx_path, out_path = Path(onnx_path), Path(out_path)
    if not onnx_path.is_file():
        raise QuantizationError(f"model {onnx_path} does not exist; export the model first")
    if not images:
        raise QuantizationError("no calibration images; give at least one training image")
    started = time.monotonic()
    inputs = [edge_input(frame, imgsz) for frame in _read_images(images)]
    try:
        model = ov.Core().read_model(str(onnx_path))
    except Exception as err:  # OpenVINO raises RuntimeError subclasses with long C++ texts
        raise QuantizationError(f"OpenVINO cannot read {onnx_path}: {err}") from err
    ignored = nncf.IgnoredScope(
        patterns=list(HEAD_FLOAT_PATTERNS), types=list(HEAD_FLOAT_TYPES), validate=False
    )
    nncf.set_log_level(40)  # errors only: NNCF's per-node lines would flood the run log
    try:
        quantized = nncf.quantize(
            model,
            nncf.Dataset(inputs),
            preset=nncf.QuantizationPreset.MIXED,
            subset_size=len(inputs),
            ignored_scope=ignored,
        )
    except Exception as err:  # NNCF raises many kinds; all mean the same to the caller
        raise QuantizationError(f"NNCF could not quantize {onnx_path}: {err}") from err
    # the edge reads class names, imgsz and stride from the ONNX metadata: ship it in the archive
    write_ov_archive(quantized, read_onnx_metadata(onnx_path), out_path)
    seconds = time.monotonic() - started
    sha = sha256_file(out_path)
    (progress or print)(
        f"quantized {onnx_path.name} to INT8 ({out_path.name}) on {len(inputs)} calibration images "
        f"at imgsz {imgsz} in {seconds:.1f} s"
    )
    return QuantizedModel(out_path, sha, sha256_file(onnx_path), len(inputs), seconds)


def quantize_release(
    exported: ExportedModel,
    data_yaml: Path | str,
    calibration_size: int = DEFAULT_CALIBRATION_SIZE,
    *,
    log: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> QuantizedModel | None:
    """``model_int8.zip`` beside an exported ``model.onnx``, calibrated on up to
    ``calibration_size`` training images of ``data_yaml`` (0: all); None, with a warning, when
    quantization fails: the release then ships fp32 only, it does not fail."""
    try:
        images = calibration_images(data_yaml, calibration_size)
        log(f"quantizing {exported.onnx.name} to INT8 on {len(images)} training images of {data_yaml} ...")
        return quantize_onnx(
            exported.onnx, images, exported.directory / MODEL_INT8, imgsz=exported.imgsz, progress=log
        )
    except QuantizationError as err:
        warn(f"no INT8 model for this release: {err}")
        return None
