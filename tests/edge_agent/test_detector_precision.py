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
from maskops_contracts import CLASS_NAMES

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


# ---------------------------------------------------------------- the INT8 variant
def _quantized_copy(path, out):
    """``path`` with a QuantizeLinear/DequantizeLinear pair on its input, as NNCF writes an INT8
    model (OpenVINO reads the pair as a FakeQuantize layer); same metadata, same outputs for
    frames of whole grey levels (the pair's scale is 1/255)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    name = model.graph.input[0].name
    for node in model.graph.node:
        node.input[:] = [f"{name}_dq" if i == name else i for i in node.input]
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(1 / 255, np.float32), "q_scale"),
            numpy_helper.from_array(np.array(0, np.uint8), "q_zero"),
        ]
    )
    qdq = [
        helper.make_node("QuantizeLinear", [name, "q_scale", "q_zero"], [f"{name}_q"]),
        helper.make_node("DequantizeLinear", [f"{name}_q", "q_scale", "q_zero"], [f"{name}_dq"]),
    ]
    nodes = [*qdq, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    return out


def test_a_quantized_model_reports_int8_and_runs_its_float_layers_at_fp32(make_yolo_onnx, tmp_path):
    path = _quantized_copy(make_yolo_onnx(BOXES), tmp_path / "model_int8.onnx")
    detector = _load(path, runtime="openvino", precision="fp32")
    assert (detector.runtime, detector.precision) == ("openvino", "int8")
    assert _compiled_precision(detector) == ov.Type.f32
    assert len(detector.detect(np.full((64, 64, 3), 128, np.uint8)).detections) == 2
    # the plain model is not int8
    assert (
        _load(make_yolo_onnx(BOXES, name="plain.onnx"), runtime="openvino", precision="fp32").precision
        == "fp32"
    )


def _ov_archive_of(onnx_path, out):
    """``onnx_path`` as the release ships an INT8 model: an OpenVINO IR and its metadata in one file."""
    from edge_agent.detector.onnx_metadata import read_onnx_metadata
    from edge_agent.detector.ov_archive import write_ov_archive

    return write_ov_archive(ov.Core().read_model(str(onnx_path)), read_onnx_metadata(onnx_path), out)


def test_an_int8_archive_loads_on_openvino_and_reports_int8(make_yolo_onnx, tmp_path):
    from edge_agent.detector.ov_archive import is_ov_archive

    qdq = _quantized_copy(make_yolo_onnx(BOXES, name="src.onnx"), tmp_path / "qdq.onnx")
    archive = _ov_archive_of(qdq, tmp_path / "model_int8.zip")
    assert is_ov_archive(archive) and not is_ov_archive(qdq)
    detector = _load(archive, runtime="openvino", precision="fp32")
    assert (detector.precision, tuple(detector.class_names)) == ("int8", CLASS_NAMES)
    assert len(detector.detect(np.full((64, 64, 3), 128, np.uint8)).detections) == 2
    (tmp_path / "broken.zip").write_bytes(archive.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match="OpenVINO model archive"):
        _load(tmp_path / "broken.zip", runtime="openvino", precision="fp32")


def _int8_release(store, make_yolo_onnx, tmp_path, *, int8_runtime="openvino"):
    """A release whose model lists fp32 (both runtimes) and INT8 (``int8_runtime``) variants."""
    import hashlib

    from maskops_contracts import ModelRef, ModelVariant, model_key

    fp32 = make_yolo_onnx(BOXES, name="model.onnx").read_bytes()
    qdq = _quantized_copy(make_yolo_onnx(BOXES, name="src.onnx"), tmp_path / "qdq.onnx")
    int8 = _ov_archive_of(qdq, tmp_path / "model_int8.zip").read_bytes()
    uri, int8_uri = model_key("v1"), model_key("v1", "model_int8.zip")
    store.put(uri, fp32, "application/octet-stream")
    store.put(int8_uri, int8, "application/octet-stream")
    sha, int8_sha = hashlib.sha256(fp32).hexdigest(), hashlib.sha256(int8).hexdigest()
    variants = (
        ModelVariant("fp32", "openvino", uri, sha, map50=0.9),
        ModelVariant("fp32", "onnxruntime", uri, sha, map50=0.9),
        ModelVariant("int8", int8_runtime, int8_uri, int8_sha, map50=0.895),
    )
    return ModelRef("v1", uri, sha, imgsz=64, variants=variants), sha, int8_sha


def _sync(store, tmp_path, holders, **detector):
    from edge_agent.metrics import AgentMetrics
    from edge_agent.model_sync import ModelSync, ModelSyncConfig

    return ModelSync(
        ModelSyncConfig(poll_interval_s=1, warmup_frames=1),
        DetectorConfig(threads=1, **detector),
        store,
        tmp_path / "data" / "models",
        holders,
        AgentMetrics(),
    )


def _publish(store, ref):
    from maskops_contracts import MANIFEST_KEY, ReleaseManifest

    store.put(
        MANIFEST_KEY, ReleaseManifest(release_id="r1", champion=ref).to_json().encode(), "application/json"
    )


@pytest.mark.parametrize(
    ("detector", "runs", "precision", "note"),
    [
        ({"runtime": "openvino"}, "int8", "int8", None),
        (
            {"runtime": "openvino", "precision": "fp32"},
            "fp32",
            "fp32",
            "detector.precision fp32 runs the model file",
        ),
        ({"runtime": "onnxruntime"}, "fp32", "fp32", "onnxruntime runs the fp32 model"),
    ],
)
def test_the_agent_runs_the_int8_file_on_openvino_and_fp32_where_forced_or_on_onnxruntime(
    make_yolo_onnx, tmp_path, caplog, detector, runs, precision, note
):
    import logging

    from edge_agent.model_sync import ModelHolder
    from edge_agent.transport import LocalDirTransport

    store = LocalDirTransport(tmp_path / "store")
    ref, sha, int8_sha = _int8_release(store, make_yolo_onnx, tmp_path)
    _publish(store, ref)
    holders = {"cam-a": ModelHolder("cam-a")}
    with caplog.at_level(logging.INFO, logger="edge_agent.model_sync"):
        _sync(store, tmp_path, holders, **detector).poll_once()
    active = holders["cam-a"].current()
    assert (active.model_version, active.precision) == ("v1", precision)
    assert active.sha256 == (int8_sha if runs == "int8" else sha)
    notes = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "model_variant"]
    if note is None:
        assert notes == []
    else:  # one log line says why the INT8 model is not run
        assert len(notes) == 1 and note in notes[0]
    if runs == "int8":  # the cache holds the INT8 file: a restart runs it again without the store
        fresh = {"cam-a": ModelHolder("cam-a")}
        _sync(LocalDirTransport(tmp_path / "gone"), tmp_path, fresh, **detector).restore(None, "local")
        assert (fresh["cam-a"].current().origin, fresh["cam-a"].current().precision) == ("cache", "int8")
        assert fresh["cam-a"].current().sha256 == int8_sha


def test_an_int8_measured_on_another_runtime_is_not_run_and_a_release_without_int8_is_unchanged(
    make_yolo_onnx, tmp_path
):
    from edge_agent.detector.variants import ModelFile, model_file
    from edge_agent.transport import LocalDirTransport
    from maskops_contracts import ModelRef

    ref, _, _ = _int8_release(
        LocalDirTransport(tmp_path / "store"), make_yolo_onnx, tmp_path, int8_runtime="onnxruntime"
    )
    chosen = model_file(ref, runtime="openvino", requested="auto")
    assert chosen.ref is ref and chosen.precision is None
    assert "measured on onnxruntime only" in chosen.note
    old = ModelRef("v0", "models/v0/model.onnx", "a" * 64)
    assert model_file(old, runtime="openvino", requested="auto") == ModelFile(old)
