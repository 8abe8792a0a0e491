"""A small GGUF (v3) writer: enough for a llama model with an SPM tokenizer.

Written for kpc's training script because PyPI's `gguf` package is not reachable here.
Layout (little-endian): magic "GGUF", version u32, tensor count u64, metadata count u64,
metadata key/values, tensor infos, padding to `general.alignment`, tensor data (each
tensor's offset a multiple of the alignment). See docs/gguf.md.
"""
import struct

import numpy as np

ALIGNMENT = 32

# GGUF metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(13)
# ggml tensor types this writer emits.
GGML_F32 = 0
GGML_F16 = 1


def _string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _scalar(vtype, value):
    fmt = {T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I", T_INT32: "<i",
           T_FLOAT32: "<f", T_BOOL: "<?", T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d"}[vtype]
    return struct.pack(fmt, value)


def _value(vtype, value):
    if vtype == T_STRING:
        return _string(value)
    return _scalar(vtype, value)


class GGUFWriter:
    def __init__(self):
        self.kv = []  # (key, bytes)
        self.tensors = []  # (name, dims (ne0 first), ggml type, bytes)

    def add(self, key, vtype, value):
        self.kv.append((key, struct.pack("<I", vtype) + _value(vtype, value)))

    def add_array(self, key, item_type, values):
        body = struct.pack("<IIQ", T_ARRAY, item_type, len(values))
        if item_type == T_STRING:
            body += b"".join(_string(v) for v in values)
        elif item_type == T_FLOAT32:
            body += np.asarray(values, dtype="<f4").tobytes()
        elif item_type == T_INT32:
            body += np.asarray(values, dtype="<i4").tobytes()
        else:
            body += b"".join(_scalar(item_type, v) for v in values)
        self.kv.append((key, body))

    def add_tensor(self, name, array):
        """`array` is numpy, row-major [out, in] as PyTorch stores it; GGUF lists ne0 = in first."""
        a = np.ascontiguousarray(array, dtype="<f4")
        self.tensors.append((name, list(reversed(a.shape)), GGML_F32, a.tobytes()))

    def write(self, path):
        out = bytearray()
        out += b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for key, body in self.kv:
            out += _string(key) + body
        offset = 0
        for name, dims, gtype, data in self.tensors:
            out += _string(name) + struct.pack("<I", len(dims))
            out += b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", gtype, offset)
            offset += len(data)
            offset += (-offset) % ALIGNMENT
        out += b"\0" * ((-len(out)) % ALIGNMENT)
        for _, _, _, data in self.tensors:
            out += data
            out += b"\0" * ((-len(data)) % ALIGNMENT)
        with open(path, "wb") as f:
            f.write(out)
