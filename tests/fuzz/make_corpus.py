#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus: a few tiny valid safetensors files (standard library only).

Usage: python3 tests/fuzz/make_corpus.py [output_dir]   (default: tests/fuzz/corpus)
"""
import json
import pathlib
import struct
import sys


def safetensors_bytes(entries, metadata=None, pad=True, data=b""):
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    header.update(entries)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def seeds():
    yield "empty.safetensors", safetensors_bytes({})
    yield "metadata_only.safetensors", safetensors_bytes({}, {"format": "pt", "group_size": "128"})
    yield "one_f32.safetensors", safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, data=struct.pack("<2f", 1.0, -2.5))
    yield "mixed.safetensors", safetensors_bytes(
        {
            "q": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]},
            "s": {"dtype": "BF16", "shape": [], "data_offsets": [8, 10]},
            "e": {"dtype": "F16", "shape": [0, 3], "data_offsets": [10, 10]},
            "f": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [10, 12]},
            "b": {"dtype": "BOOL", "shape": [1], "data_offsets": [12, 13]},
        },
        {"format": "pt"},
        data=struct.pack("<q", 7) + b"\x80\x3f" + b"\x38\xc0" + b"\x01")
    # An older writer's layout: no padding, so the I32 tensor is misaligned.
    yield "unaligned.safetensors", safetensors_bytes(
        {
            "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
            "i": {"dtype": "I32", "shape": [1, 1], "data_offsets": [1, 5]},
        },
        pad=False, data=b"\x09" + struct.pack("<i", -3))


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent / "corpus")
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
