"""Compact encoding of the always-on tier's numbers: arrays of floats as compressed blobs.

Every optimizer step writes a few numbers per parameter; stored as one SQLite row each, a run
of 10,000 steps with 500 parameters would be 30 million rows. Instead a chunk of consecutive
steps is one row holding an array. The array is stored as float32 (float64 only when a value
is outside float32's normal range, e.g. a 1e-40 gradient norm), reordered so that each
series' consecutive steps lie next to each other, byte-shuffled (the high bytes of similar
floats are alike: grouping byte planes lets zlib find them, as Blosc and HDF5's shuffle
filter do), and zlib-compressed. Constant columns (a learning rate, a flag) cost almost
nothing; noisy norms about 2-3 bytes a value.
"""

from __future__ import annotations

import zlib

import numpy as np

_F32_NORMAL = (np.finfo(np.float32).tiny, np.finfo(np.float32).max)
_DTYPES = {4: np.float32, 8: np.float64}


def encode(array: np.ndarray) -> bytes:
    """Bytes for a float array of any shape (``decode`` needs the shape back)."""
    values = np.ascontiguousarray(np.moveaxis(np.asarray(array, dtype=np.float64), 0, -1))
    magnitudes = np.abs(values[np.isfinite(values) & (values != 0)])
    fits = not magnitudes.size or (
        magnitudes.min() >= _F32_NORMAL[0] and magnitudes.max() <= _F32_NORMAL[1])
    stored = values.astype(np.float32) if fits else values
    width = stored.dtype.itemsize
    planes = stored.reshape(-1).view(np.uint8).reshape(-1, width).T
    return bytes([width]) + zlib.compress(np.ascontiguousarray(planes).tobytes(), 6)


def decode(blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """The float64 array ``encode`` was given."""
    width = blob[0]
    dtype = _DTYPES.get(width)
    if dtype is None:
        raise ValueError(f"unknown value width {width} in an encoded block")
    raw = np.frombuffer(zlib.decompress(blob[1:]), dtype=np.uint8)
    count = int(np.prod(shape))
    if raw.size != count * width:
        raise ValueError(f"an encoded block holds {raw.size // width} values, expected {count}")
    values = raw.reshape(width, count).T.copy().view(dtype).reshape(-1)
    moved = (*shape[1:], shape[0]) if shape else ()
    return np.moveaxis(values.astype(np.float64).reshape(moved), -1, 0)
