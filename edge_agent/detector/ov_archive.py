"""An OpenVINO model in one file: the release's INT8 model (``model_int8.zip``).

NNCF quantizes for OpenVINO best with its OpenVINO backend, whose result is an OpenVINO IR: two
files (``model.xml``, ``model.bin``). A release names every file by one uri and one sha256, and
the agent's model cache keeps one file per model, so the IR travels as one uncompressed zip
archive holding ``model.xml``, ``model.bin`` and ``metadata.json`` (the ONNX metadata the
detector reads: class names, stride, imgsz). The agent reads the IR from it in memory
(``Core.read_model(xml_bytes, weights_bytes)``); only OpenVINO runs it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

XML, BIN, METADATA = "model.xml", "model.bin", "metadata.json"
_MAGIC = b"PK\x03\x04"
#: a fixed member time: the archive's bytes depend on the model, not on when it was written
_EPOCH = (2020, 1, 1, 0, 0, 0)


def is_ov_archive(path: Path | str) -> bool:
    """True for a file that is an OpenVINO model archive (a zip), not an ONNX graph."""
    with open(path, "rb") as handle:
        return handle.read(4) == _MAGIC


def write_ov_archive(model, metadata: dict[str, str], path: Path | str) -> Path:
    """Serialize the ``openvino.Model`` ``model`` and ``metadata`` into one archive at ``path``."""
    import tempfile

    import openvino as ov

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / XML
        ov.save_model(model, str(xml), compress_to_fp16=False)
        members = {
            XML: xml.read_bytes(),
            BIN: xml.with_suffix(".bin").read_bytes(),
            METADATA: json.dumps(metadata, sort_keys=True).encode(),
        }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, _EPOCH), data)
    path.write_bytes(buffer.getvalue())
    return path


def read_ov_archive(path: Path | str) -> tuple[bytes, bytes, dict[str, str]]:
    """(IR xml, IR weights, metadata) of an archive; ValueError naming what is missing."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = {XML, BIN, METADATA} - names
            if missing:
                raise ValueError(f"the OpenVINO model archive lacks {', '.join(sorted(missing))}")
            metadata = json.loads(archive.read(METADATA))
            return archive.read(XML), archive.read(BIN), {str(k): str(v) for k, v in metadata.items()}
    except (zipfile.BadZipFile, json.JSONDecodeError, AttributeError) as err:
        raise ValueError(f"not a readable OpenVINO model archive: {err}") from err
