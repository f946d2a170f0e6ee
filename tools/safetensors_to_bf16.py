#!/usr/bin/python3
"""Rewrites a .safetensors file with every F32 tensor stored as BF16.

Used to keep the test copies of the tiny golden towers small: their weights
are exactly representable in bf16 (golden/multimodal/README.md section 3),
so the conversion is lossless; it refuses to write a file if any value would
change. Usage: tools/safetensors_to_bf16.py IN OUT
"""
import json
import struct
import sys

import numpy as np


def main(src, dst):
    with open(src, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out_header, out_data = {}, bytearray()
    for name, t in sorted(header.items(), key=lambda kv: kv[1].get(
            "data_offsets", [0])[0] if kv[0] != "__metadata__" else -1):
        if name == "__metadata__":
            out_header[name] = t
            continue
        b, e = t["data_offsets"]
        raw = data[b:e]
        if t["dtype"] == "F32":
            x = np.frombuffer(raw, dtype="<f4")
            bits = x.view("<u4")
            if np.any(bits & 0xFFFF):
                sys.exit(f"{name}: not exactly representable in bf16")
            raw = (bits >> 16).astype("<u2").tobytes()
            t = dict(t, dtype="BF16")
        begin = len(out_data)
        out_data += raw
        out_header[name] = dict(t, data_offsets=[begin, len(out_data)])
    h = json.dumps(out_header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(out_data))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
