"""A YOLOv8-shaped ONNX model whose output is a fixed table: for benchmarks and tests that need a
detector whose boxes do not depend on what a model learned (nor on the CPU it runs on).

Dynamic input ``(1, 3, height, width)``, output ``(1, 4 + nc, 8)``: two faces on every frame, one
``with_mask`` (0.9) and one ``without_mask`` (0.7). ``0 x`` the input's mean keeps the graph
dependent on its input, as a real one is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskops_contracts import CLASS_NAMES


def fixed_table_onnx(path: Path, imgsz: int) -> Path:
    """Write the model to ``path`` (metadata ``names`` and ``imgsz`` as ultralytics exports them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nc, anchors = len(CLASS_NAMES), 8
    table = np.zeros((1, 4 + nc, anchors), dtype=np.float32)
    table[0, :4, 0], table[0, 4:, 0] = [16, 16, 20, 20], [0.9, 0.05, 0.05]
    table[0, :4, 1], table[0, 4:, 1] = [46, 40, 16, 18], [0.1, 0.7, 0.2]
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["images"], ["mean4"], keepdims=1),
            helper.make_node("Reshape", ["mean4", "shape3"], ["mean"]),
            helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
            helper.make_node("Add", ["table", "nothing"], ["output0"]),
        ],
        "fake_yolov8",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + nc, anchors])],
        [
            numpy_helper.from_array(np.array([1, 1, 1], dtype=np.int64), "shape3"),
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": str(dict(enumerate(CLASS_NAMES))), "imgsz": str([imgsz, imgsz])})
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
