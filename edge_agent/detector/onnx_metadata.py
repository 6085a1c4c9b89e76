"""The custom metadata of an ONNX file (YOLOv8 exports write names, imgsz, stride...).

Neutral ground for both backends: OpenVINO does not expose ONNX ``metadata_props``, so it reads
them here rather than from the ONNX Runtime backend.

Read straight from the file's protobuf encoding, with the standard library only: an ONNX file
is one ``ModelProto`` message, and ``metadata_props`` (field 14) are ``StringStringEntryProto``
messages (key = field 1, value = field 2) at its top level. The reader walks the top-level
fields and jumps over the others (the graph with its weights is one length-delimited field), so
it reads a few bytes of a memory-mapped file and loads no runtime: an agent on OpenVINO never
imports ONNX Runtime, which would cost it some 40-60 MB of resident memory for nothing.
"""

from __future__ import annotations

import mmap
from pathlib import Path

from edge_agent.detector.types import ModelLoadError

#: ModelProto's field number of ``metadata_props`` (onnx.proto)
_METADATA_PROPS = 14
#: ModelProto's field number of ``graph``: a file without one is not a model
_GRAPH = 7
#: StringStringEntryProto's field numbers
_KEY, _VALUE = 1, 2
# protobuf wire types
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class _Malformed(ValueError):
    pass


def _varint(buf: bytes | mmap.mmap, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Malformed(f"truncated varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes | mmap.mmap):
    """(field number, wire type, value) for each top-level field of a message; a
    length-delimited value is a (start, end) span of ``buf``, a number is the number."""
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Malformed(f"field number 0 at byte {pos}")
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == _LEN:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise _Malformed(f"field {number} runs past the end ({pos + length} > {end} bytes)")
            yield number, wire, (pos, pos + length)
            pos += length
        elif wire in (_I64, _I32):
            pos += 8 if wire == _I64 else 4
            if pos > end:
                raise _Malformed(f"field {number} runs past the end")
            yield number, wire, None
        else:  # groups (3, 4) are not used by ONNX; anything else is not protobuf
            raise _Malformed(f"wire type {wire} of field {number} is not in an ONNX file")


def parse_onnx_metadata(data: bytes | mmap.mmap) -> dict[str, str]:
    """``metadata_props`` of the serialised ModelProto ``data``; ValueError when it is not one."""
    metadata: dict[str, str] = {}
    has_graph = False
    for number, wire, value in _fields(data):
        if number == _GRAPH and wire == _LEN:
            has_graph = True
        if number != _METADATA_PROPS or wire != _LEN:
            continue
        entry = data[value[0] : value[1]]  # a small copy: one key and its value
        key = val = ""
        for sub_number, sub_wire, span in _fields(entry):
            if sub_wire == _LEN and sub_number in (_KEY, _VALUE):
                text = entry[span[0] : span[1]].decode("utf-8")
                key, val = (text, val) if sub_number == _KEY else (key, text)
        metadata[key] = val
    if not has_graph:
        raise _Malformed("no graph in it")
    return metadata


def read_onnx_metadata(model_path: Path | str) -> dict[str, str]:
    """The export's custom metadata; ModelLoadError naming the file when it is not an ONNX model."""
    try:
        with open(model_path, "rb") as handle:
            if not handle.seek(0, 2):
                raise _Malformed("the file is empty")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return parse_onnx_metadata(mapped)
    except OSError as err:
        raise ModelLoadError(model_path, f"cannot read it ({err})") from err
    except (ValueError, UnicodeDecodeError) as err:  # _Malformed is a ValueError
        raise ModelLoadError(model_path, f"not a loadable ONNX model ({err})") from err
