"""Bit packing shared by every layer: bit i of a stream is bit (i % 64) of word i // 64.

Words are little-endian uint64 and the bits past a stream's length are zero, so a popcount
over whole words counts exactly the stream's ones.
"""

from __future__ import annotations

import numpy as np


def words_for(length: int) -> int:
    """Number of uint64 words that hold `length` bits."""
    return (length + 63) // 64


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack 0/1 values along the last axis into uint64 words (shape (..., words_for(n)))."""
    bits = np.asarray(bits, dtype=np.uint8)
    length = bits.shape[-1]
    padded = np.zeros((*bits.shape[:-1], words_for(length) * 64), dtype=np.uint8)
    padded[..., :length] = bits
    packed_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed_bytes).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, length: int) -> np.ndarray:
    """Inverse of `pack_bits`: uint8 0/1 values of shape (..., length)."""
    words = np.ascontiguousarray(words, dtype="<u8")
    as_bytes = words.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, count=length, bitorder="little")
