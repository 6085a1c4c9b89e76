"""detector.precision reaches the compiled model, and a precision that cannot run is an error.

Which precisions exist depends on the CPU: OpenVINO offers bf16 where the CPU has it (AVX512_BF16
or AMX), and on such a CPU it would run bf16 unless told otherwise. Tests whose subject depends
on that ask OpenVINO itself what this CPU offers (``CPU_OFFERS_BF16``, read here independently of
the code under test) and assert the outcome of each case, so both kinds of CPU test something.
"""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.properties.device as ov_device
import openvino.properties.hint as ov_hint
import pytest
from pydantic import ValidationError

from edge_agent.detector import (
    DetectorConfig,
    ModelLoadError,
    PrecisionUnavailable,
    choose_precision,
    load_detector,
    offered_precisions,
)
from edge_agent.detector.openvino_runtime import OpenVinoBackend

CPU_OFFERS_BF16 = "BF16" in ov.Core().get_property("CPU", ov_device.capabilities)
BOXES = [((16.0, 24.0, 32.0, 40.0), (0.55, 0.40, 0.05)), ((40.0, 8.0, 60.0, 30.0), (0.1, 0.2, 0.8))]


def _load(path, measured=None, **cfg):
    return load_detector(
        path, model_version="v1", cfg=DetectorConfig(threads=1, **cfg), measured_precisions=measured
    )


def _compiled_precision(detector, shape=(64, 64)) -> ov.Type:
    """What the compiled model itself says, through OpenVINO's API, not the detector's."""
    return detector.backend.compiled_model(*shape).get_property(ov_hint.inference_precision)


def test_offered_precisions_on_this_box():
    assert offered_precisions("onnxruntime") == ("fp32",)
    assert offered_precisions("openvino") == (("fp32", "bf16") if CPU_OFFERS_BF16 else ("fp32",))
    assert offered_precisions("auto") == offered_precisions("openvino")  # auto is OpenVINO here
    with pytest.raises(ValueError, match="unknown runtime"):
        offered_precisions("tensorrt")  # type: ignore[arg-type]


@pytest.mark.parametrize("streams", [1, 2])
def test_fp32_reaches_the_compiled_model_on_any_cpu(make_yolo_onnx, streams):
    detector = _load(make_yolo_onnx(BOXES), runtime="openvino", precision="fp32", streams=streams)
    assert (detector.runtime, detector.precision) == ("openvino", "fp32")
    assert _compiled_precision(detector) == ov.Type.f32
    assert len(detector.detect(np.full((64, 64, 3), 128, np.uint8)).detections) == 2


def test_bf16_reaches_the_compiled_model_where_the_cpu_offers_it_else_is_refused(make_yolo_onnx):
    path = make_yolo_onnx(BOXES)
    if CPU_OFFERS_BF16:
        detector = _load(path, runtime="openvino", precision="bf16")
        assert detector.precision == "bf16"
        assert _compiled_precision(detector) == ov.Type.bf16
        assert len(detector.detect(np.full((64, 64, 3), 128, np.uint8)).detections) == 2
    else:
        with pytest.raises(PrecisionUnavailable, match="not offered by openvino on this CPU") as err:
            _load(path, runtime="openvino", precision="bf16")
        assert err.value.reason == "precision_not_offered"
        assert "which offers fp32" in str(err.value) and str(path) in str(err.value)


def test_the_backend_checks_what_openvino_compiled(make_yolo_onnx):
    """OpenVINO compiles a bf16 request as f32 on a CPU without bf16 and says nothing; the
    backend reads the precision back and refuses the difference (a second line of defence
    behind ``offered_precisions``)."""
    backend = OpenVinoBackend(make_yolo_onnx(BOXES), threads=1, precision="bf16")
    if CPU_OFFERS_BF16:
        assert backend.compiled_model(64, 64).get_property(ov_hint.inference_precision) == ov.Type.bf16
    else:
        with pytest.raises(ModelLoadError, match="compiled the model for fp32"):
            backend.compiled_model(64, 64)


def test_auto_runs_a_model_without_release_at_fp32_and_a_measured_bf16_where_offered(make_yolo_onnx):
    path = make_yolo_onnx(BOXES)
    local = _load(path, runtime="openvino")  # a model_path: nothing measured it
    assert local.precision == "fp32" and _compiled_precision(local) == ov.Type.f32
    released = _load(path, measured=("fp32", "bf16"), runtime="openvino")
    expected = "bf16" if CPU_OFFERS_BF16 else "fp32"
    assert released.precision == expected
    assert _compiled_precision(released) == (ov.Type.bf16 if CPU_OFFERS_BF16 else ov.Type.f32)
    assert _load(path, measured=("fp32",), runtime="openvino").precision == "fp32"


def test_onnxruntime_reports_fp32_and_refuses_bf16(make_yolo_onnx):
    path = make_yolo_onnx(BOXES)
    assert _load(path, runtime="onnxruntime").precision == "fp32"
    assert _load(path, measured=("fp32", "bf16"), runtime="onnxruntime").precision == "fp32"
    with pytest.raises(PrecisionUnavailable, match="not offered by onnxruntime") as err:
        _load(path, runtime="onnxruntime", precision="bf16")
    assert err.value.reason == "precision_not_offered"


def test_precision_is_a_typed_setting():
    assert DetectorConfig().precision == "auto"
    with pytest.raises(ValidationError, match="precision"):
        DetectorConfig(precision="fp16")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the rule, on any CPU
BOTH = ("fp32", "bf16")


@pytest.mark.parametrize(
    ("requested", "offered", "measured", "expected"),
    [
        ("auto", BOTH, None, "fp32"),  # no release: nothing measured bf16
        ("auto", BOTH, ("fp32",), "fp32"),
        ("auto", BOTH, BOTH, "bf16"),  # the fastest that is offered and measured
        ("auto", BOTH, ("bf16",), "bf16"),
        ("auto", ("fp32",), BOTH, "fp32"),  # measured, but this CPU lacks it
        ("fp32", BOTH, BOTH, "fp32"),
        ("bf16", BOTH, BOTH, "bf16"),
        ("bf16", BOTH, None, "bf16"),  # a model given by path: the operator's call
    ],
)
def test_choose_precision(requested, offered, measured, expected):
    assert choose_precision(requested, runtime="openvino", offered=offered, measured=measured) == expected


@pytest.mark.parametrize(
    ("requested", "offered", "measured", "reason", "names"),
    [
        ("bf16", ("fp32",), BOTH, "precision_not_offered", "which offers fp32"),
        ("bf16", ("fp32",), None, "precision_not_offered", "which offers fp32"),
        ("bf16", BOTH, ("fp32",), "precision_not_measured", "measured fp32 on openvino"),
        ("bf16", BOTH, (), "precision_not_measured", "measured nothing on openvino"),
        # the release lists what the gate measured and passed, per runtime: fp32 too
        ("fp32", BOTH, ("bf16",), "precision_not_measured", "measured bf16 on openvino"),
        ("auto", ("fp32",), ("bf16",), "precision_not_measured", "offers fp32 on openvino"),
        ("auto", BOTH, (), "precision_not_measured", "measured nothing on openvino"),
    ],
)
def test_a_precision_that_cannot_run_is_refused_never_replaced(requested, offered, measured, reason, names):
    with pytest.raises(PrecisionUnavailable) as err:
        choose_precision(
            requested, runtime="openvino", offered=offered, measured=measured, model_path="m.onnx"
        )
    assert err.value.reason == reason
    assert names in str(err.value) and str(err.value).startswith("m.onnx: ")
