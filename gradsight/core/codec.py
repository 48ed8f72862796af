"""Compact encoding of the always-on tier's numbers: arrays of floats as compressed blobs.

Every optimizer step writes a few numbers per parameter; stored as one SQLite row each, a run
of 10,000 steps with 500 parameters would be 30 million rows. Instead a chunk of consecutive
steps is one row holding an array. The array is stored as float32 (float64 only when a value
is outside float32's normal range, e.g. a 1e-40 gradient norm), reordered so that each
series' consecutive steps lie next to each other, byte-shuffled (the high bytes of similar
floats are alike: grouping byte planes lets zlib find them, as Blosc and HDF5's shuffle
filter do), and zlib-compressed. Constant columns (a learning rate, a flag) cost almost
nothing; noisy norms about 2-3 bytes a value. Columns named ``exact`` (settings such as the
learning rate, which a reader compares with what the script set) are always kept as float64:
constant, they compress to almost nothing anyway.
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

_F32_NORMAL = (np.finfo(np.float32).tiny, np.finfo(np.float32).max)
_DTYPES = {4: np.float32, 8: np.float64}


def encode(array: np.ndarray, exact: Sequence[int] = ()) -> bytes:
    """Bytes for a float array of any shape (``decode`` needs the shape back); the indices
    ``exact`` of the last axis are stored as float64 whatever their values."""
    values = np.asarray(array, dtype=np.float64)
    if not exact or values.ndim == 0:
        return _encode(values, _fits_float32(values))
    keep = [i for i in range(values.shape[-1]) if i not in set(exact)]
    first = _encode(values[..., keep], _fits_float32(values[..., keep]))
    return len(first).to_bytes(4, "little") + first + _encode(values[..., list(exact)], False)


def decode(blob: bytes, shape: tuple[int, ...], exact: Sequence[int] = ()) -> np.ndarray:
    """The float64 array ``encode`` was given (with the same ``exact``)."""
    if not exact or not shape:
        return _decode(blob, shape)
    size = int.from_bytes(blob[:4], "little")
    keep = [i for i in range(shape[-1]) if i not in set(exact)]
    out = np.empty(shape, dtype=np.float64)
    out[..., keep] = _decode(blob[4:4 + size], (*shape[:-1], len(keep)))
    out[..., list(exact)] = _decode(blob[4 + size:], (*shape[:-1], len(exact)))
    return out


def _fits_float32(values: np.ndarray) -> bool:
    magnitudes = np.abs(values[np.isfinite(values) & (values != 0)])
    return not magnitudes.size or bool(
        magnitudes.min() >= _F32_NORMAL[0] and magnitudes.max() <= _F32_NORMAL[1])


def _encode(values: np.ndarray, as_float32: bool) -> bytes:
    moved = np.ascontiguousarray(np.moveaxis(values, 0, -1)) if values.ndim else values
    stored = moved.astype(np.float32 if as_float32 else np.float64)
    width = stored.dtype.itemsize
    planes = stored.reshape(-1).view(np.uint8).reshape(-1, width).T
    return bytes([width]) + zlib.compress(np.ascontiguousarray(planes).tobytes(), 6)


def _decode(blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
    width = blob[0]
    dtype = _DTYPES.get(width)
    if dtype is None:
        raise ValueError(f"unknown value width {width} in an encoded block")
    raw = np.frombuffer(zlib.decompress(blob[1:]), dtype=np.uint8)
    count = int(np.prod(shape))
    if raw.size != count * width:
        raise ValueError(f"an encoded block holds {raw.size // width} values, expected {count}")
    values = raw.reshape(width, count).T.copy().view(dtype).reshape(-1).astype(np.float64)
    if not shape:
        return values.reshape(shape)
    return np.moveaxis(values.reshape((*shape[1:], shape[0])), -1, 0)
