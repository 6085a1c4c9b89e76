"""Which file of a released model this agent runs: the INT8 model where it may, else the model.

A release lists an ``int8`` variant only when the gate measured the quantized ``model_int8.zip``
on OpenVINO within ``int8_max_drop`` of fp32 (``ModelRef.variant``). An agent on OpenVINO with
``detector.precision: auto`` runs it (the fastest measured precision); ``fp32`` or ``bf16`` force
the model file itself. ONNX Runtime runs the model file: the gate measured int8 on OpenVINO only,
so an INT8 variant there is no variant for it, and it says so once (``note``).
"""

from __future__ import annotations

from dataclasses import dataclass

from maskops_contracts import ModelRef

INT8 = "int8"


@dataclass(frozen=True)
class ModelFile:
    """The file to download, check and run for a release's model.

    ``ref``: the model itself, or for the INT8 file a reference to that file (its uri and sha256,
    no variants: it runs at fp32 where not quantized, the way the gate measured it).
    ``note``: why a listed INT8 model is not run here (None when it is, or none is listed).
    """

    ref: ModelRef
    precision: str | None = None
    note: str | None = None


def model_file(ref: ModelRef, *, runtime: str, requested: str) -> ModelFile:
    """The file ``ref``'s model runs from on ``runtime`` with ``detector.precision`` ``requested``."""
    listed = [v for v in ref.variants if v.precision == INT8]
    if not listed:
        return ModelFile(ref)
    int8 = ref.variant(INT8, runtime)
    if int8 is None:
        measured_on = ", ".join(sorted({v.runtime for v in listed}))
        return ModelFile(
            ref,
            note=f"{ref.model_version}: the INT8 model is measured on {measured_on} only; {runtime} "
            f"runs the fp32 model {ref.uri}",
        )
    if requested != "auto":
        return ModelFile(
            ref,
            note=f"{ref.model_version}: detector.precision {requested} runs the model file {ref.uri}, "
            f"not its INT8 model (set detector.precision: auto to run INT8)",
        )
    quantized = ModelRef(
        model_version=ref.model_version,
        uri=int8.uri,
        sha256=int8.sha256,
        imgsz=ref.imgsz,
        class_names=ref.class_names,
    )
    return ModelFile(quantized, precision=INT8)
