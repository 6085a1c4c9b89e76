"""OpenVINO backend: often faster than ONNX Runtime on Intel and AMD CPUs; the edge default.

The conversion from the letterboxed BGR uint8 image to the model's float RGB input is compiled
into the graph (OpenVINO's PrePostProcessor), which does it faster than numpy. A model with a
dynamic input height/width is compiled once per input shape it meets (a camera's frames all
have one), each compiled model with a pool of inference requests; with ``streams`` > 1 it is
compiled for throughput (that many passes at once, ``threads // streams`` threads each).

Memory (a camera box has little): one ``ov.Core`` serves every model of the process (a Core
holds its own CPU plugin instance and caches), the ONNX metadata is read from the file without
loading ONNX Runtime, the graph read from the file is let go once compiled, and a compiled model
is kept only for the input shapes real frames use:
the probe and default warm-up shape (a square ``imgsz``) is released as soon as the detector
knows the cameras' frame sizes (``retain_shapes``), which saves a whole compiled model (about 30
MB for YOLOv8n) per loaded detector.

The inference precision is always set (``INFERENCE_PRECISION_HINT``) and read back from every
compiled model: OpenVINO runs bfloat16 by default on CPUs with AMX, and where the CPU lacks
bf16 it compiles a bf16 request as f32 without a word. Neither may happen unnoticed.

A quantized model (FakeQuantize layers, which OpenVINO runs in int8: the release's
``model_int8.zip``, an OpenVINO IR in one archive (``ov_archive``), or an ONNX graph with
QuantizeLinear/DequantizeLinear pairs) reports its precision as "int8"; the inference precision
set and checked is then that of the layers left in float.
"""

from __future__ import annotations

import functools
import queue
import threading
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.properties.device as ov_device
import openvino.properties.hint as ov_hint
from openvino.preprocess import ColorFormat, PrePostProcessor

from edge_agent.detector.onnx_metadata import read_onnx_metadata
from edge_agent.detector.ov_archive import is_ov_archive, read_ov_archive
from edge_agent.detector.types import ModelLoadError, PendingForward

#: The detector's precision names and OpenVINO's element types for them.
_OV_TYPES = {"fp32": ov.Type.f32, "bf16": ov.Type.bf16}


_core: ov.Core | None = None
_core_lock = threading.Lock()


def shared_core() -> ov.Core:
    """The process's one ``ov.Core``: every backend compiles through it (each compile passes its
    own config), so the CPU plugin is loaded and initialised once, not once per model."""
    global _core
    with _core_lock:
        if _core is None:
            _core = ov.Core()
        return _core


@functools.cache
def cpu_offers_bf16() -> bool:
    """True when OpenVINO's CPU plugin lists BF16 among this CPU's OPTIMIZATION_CAPABILITIES
    (AVX512_BF16 or AMX): only then does a bf16 request compile to bf16."""
    return "BF16" in shared_core().get_property("CPU", ov_device.capabilities)


def compiled_precision(compiled: ov.CompiledModel) -> str:
    """The inference precision a compiled model runs at, as the detector names it ("fp32",
    "bf16"; another OpenVINO type by its own name, e.g. "f16")."""
    element = compiled.get_property(ov_hint.inference_precision)
    for name, ov_type in _OV_TYPES.items():
        if element == ov_type:
            return name
    return element.get_type_name()


class _RequestPool:
    """Idle inference requests of one compiled model; a new one is made when all are busy,
    so cameras sharing a model never wait on each other's unfinished frames."""

    def __init__(self, compiled: ov.CompiledModel) -> None:
        self.compiled = compiled
        self._idle: queue.SimpleQueue[ov.InferRequest] = queue.SimpleQueue()

    def acquire(self) -> ov.InferRequest:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self.compiled.create_infer_request()

    def release(self, request: ov.InferRequest) -> None:
        self._idle.put(request)


class _OpenVinoPass:
    __slots__ = ("_input", "_pool", "_request")

    def __init__(self, pool: _RequestPool, request: ov.InferRequest, image: np.ndarray) -> None:
        self._pool, self._request, self._input = pool, request, image

    def done(self) -> bool:
        return self._input is None or bool(self._request.wait_for(0))

    def result(self) -> tuple[np.ndarray, float]:
        if self._input is None:  # the request went back to the pool; it may run another frame now
            raise RuntimeError("this forward pass was already collected")
        request = self._request
        try:
            request.wait()
            output = np.array(request.get_output_tensor(0).data, copy=True)
            return output, float(request.latency)
        finally:
            self._input = None
            self._pool.release(request)


class OpenVinoBackend:
    """A model compiled for the CPU device with an explicit thread count, stream count and
    inference precision ("fp32" or "bf16"; each compiled model is checked to run it)."""

    name = "openvino"

    def __init__(self, model_path: Path, *, threads: int, streams: int = 1, precision: str = "fp32") -> None:
        if precision not in _OV_TYPES:
            raise ModelLoadError(
                model_path, f"unknown precision {precision!r} for OpenVINO; known: {', '.join(_OV_TYPES)}"
            )
        self.streams = streams
        self.precision = precision
        self._path = model_path
        self._archive = is_ov_archive(model_path)
        # OpenVINO does not expose ONNX metadata_props; read them from the file (onnx_metadata),
        # or from the archive of an OpenVINO IR (the release's INT8 model)
        self.metadata = self._archive_parts()[2] if self._archive else read_onnx_metadata(model_path)
        if streams > 1:
            hint = {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams}
        else:
            hint = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
        # No pinning: the camera threads (decoding, post-processing) share these cores, and with
        # OpenVINO's threads pinned the scheduler could not move them out of the way (measured on
        # 2 cores, 7 paired runs: agent/forward-pass median 0.83 unpinned, 0.79 pinned).
        self._config = {
            "INFERENCE_NUM_THREADS": threads,
            "ENABLE_CPU_PINNING": False,
            **hint,
            ov_hint.inference_precision: _OV_TYPES[precision],
        }
        self._core = shared_core()
        #: the graph as read from the file, until a compile takes it (see ``_take_model``)
        self._model: ov.Model | None = self._read_model()
        #: the precision asked of the runtime (and checked on every compiled model)
        self._requested = precision
        if any(op.get_type_name() == "FakeQuantize" for op in self._model.get_ordered_ops()):
            self.precision = "int8"  # its quantized layers run int8; the rest at ``precision``
        if len(self._model.inputs) != 1:
            raise ModelLoadError(
                model_path, f"expected one image input, the model has {len(self._model.inputs)}"
            )
        partial = self._model.inputs[0].get_partial_shape()
        self.input_shape = tuple(d.get_length() if d.is_static else None for d in partial)
        self._pools: dict[tuple[int, int], _RequestPool] = {}
        self._lock = threading.Lock()

    def _pool_for(self, height: int, width: int) -> _RequestPool:
        pool = self._pools.get((height, width))
        if pool is not None:
            return pool
        with self._lock:  # two cameras meeting a new shape at once compile it once
            pool = self._pools.get((height, width))
            if pool is None:
                pool = _RequestPool(self._compile(height, width))
                self._pools[(height, width)] = pool
            return pool

    @property
    def compiled_shapes(self) -> frozenset[tuple[int, int]]:
        """The (height, width) inputs the model is compiled for now."""
        with self._lock:
            return frozenset(self._pools)

    def retain_shapes(self, shapes: set[tuple[int, int]] | frozenset[tuple[int, int]]) -> None:
        """Release the compiled models of every input shape not in ``shapes`` (a pass still in
        flight on one keeps it alive until it is collected); a released shape compiles again
        if a frame needs it."""
        with self._lock:
            for shape in [s for s in self._pools if s not in shapes]:
                del self._pools[shape]

    def compiled_model(self, height: int, width: int) -> ov.CompiledModel:
        """The model compiled for a (height, width) input (compiled now if it was not yet)."""
        return self._pool_for(height, width).compiled

    def _compile(self, height: int, width: int) -> ov.CompiledModel:
        compiled = self._compile_graph(height, width)
        effective = compiled_precision(compiled)
        if effective != self._requested:
            raise ModelLoadError(
                self._path,
                f"precision {self._requested} was asked for, but OpenVINO compiled the model for "
                f"{effective} on this CPU (its OPTIMIZATION_CAPABILITIES: "
                f"{', '.join(self._core.get_property('CPU', ov_device.capabilities))})",
            )
        return compiled

    def _archive_parts(self) -> tuple[bytes, bytes, dict[str, str]]:
        try:
            return read_ov_archive(self._path)
        except (OSError, ValueError) as err:
            raise ModelLoadError(self._path, str(err)) from err

    def _read_model(self) -> ov.Model:
        try:
            if self._archive:
                xml, weights, _ = self._archive_parts()
                return self._core.read_model(xml, weights)
            return self._core.read_model(str(self._path))
        except Exception as err:  # OpenVINO raises RuntimeError subclasses with long C++ texts
            raise ModelLoadError(self._path, f"OpenVINO cannot load it ({err})") from err

    def _take_model(self) -> ov.Model:
        """The graph to compile: the one read at load the first time, read again from the file
        after. Not kept once compiled: a compiled model does not need it, and holding it costs
        some 10 MB per loaded model (a hot swap holds two); a new input shape is rare (a camera
        that changes resolution), and the file stays while it is the model a camera runs."""
        model, self._model = self._model, None
        return model if model is not None else self._read_model()

    def _compile_graph(self, height: int, width: int) -> ov.CompiledModel:
        model = self._take_model()
        try:
            if len(self.input_shape) == 4 and None in self.input_shape:
                model.reshape({0: ov.PartialShape([1, self.input_shape[1] or 3, height, width])})
            ppp = PrePostProcessor(model)
            ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(
                ColorFormat.BGR
            )
            ppp.input().model().set_layout(ov.Layout("NCHW"))
            ppp.input().preprocess().convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).scale(
                255.0
            )
            return self._core.compile_model(ppp.build(), "CPU", self._config)
        except Exception as err:
            raise ModelLoadError(
                self._path, f"OpenVINO cannot compile it for a {height}x{width} input ({err})"
            ) from err

    def submit(self, boxed_bgr: np.ndarray) -> PendingForward:
        height, width = boxed_bgr.shape[:2]
        pool = self._pool_for(height, width)
        request = pool.acquire()
        image = np.ascontiguousarray(boxed_bgr)[np.newaxis]
        try:
            request.start_async({0: image}, share_inputs=True)
        except Exception:
            pool.release(request)
            raise
        return _OpenVinoPass(pool, request, image)
