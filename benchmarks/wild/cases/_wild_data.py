"""Bundled stand-ins for the datasets the wild cases' authors downloaded (nothing is fetched).

Cases import this as ``from _wild_data import ...`` (a case's folder is first on ``sys.path``
both under ``python case.py`` and under ``gradsight run``); the scorer skips ``_*.py`` files.
"""
from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits


def mnist_like() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's shapes and rough statistics from scikit-learn's 1,797 8x8 digits: each image
    blown up 3x (24x24) inside a 2-pixel border (28x28), ink scaled to [0, 1], mostly zeros.
    Returns images (n, 28, 28) float32 and integer labels (n,)."""
    d = load_digits()
    images = np.pad(np.kron(d.images, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2))) / 16.0
    return images.astype(np.float32), d.target.astype(np.int64)


class Batches:
    """``mnist.train.next_batch(n)`` of the TF1 tutorials: a seeded reshuffle every epoch."""

    def __init__(self, *arrays: np.ndarray, seed: int = 0) -> None:
        self.arrays, self.rng = arrays, np.random.RandomState(seed)
        self.order, self.pos = self.rng.permutation(len(arrays[0])), 0

    def next_batch(self, n: int) -> tuple[np.ndarray, ...]:
        if self.pos + n > len(self.order):
            self.order, self.pos = self.rng.permutation(len(self.order)), 0
        idx = self.order[self.pos:self.pos + n]
        self.pos += n
        return tuple(a[idx] for a in self.arrays)


def imdb_like(n: int = 960, maxlen: int = 200, vocab: int = 20000,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """IMDB reviews as word indices padded to ``maxlen``: Zipf-like word frequencies, with
    15% of the words drawn from one band of the vocabulary for positive reviews and another for
    negative ones (a sentiment signal a classifier can learn). Returns indices (n, maxlen) and
    0/1 labels (n,)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    zipf = np.minimum(rng.zipf(1.3, size=(n, maxlen)) + 3, vocab - 1)
    band = np.where(labels[:, None] == 1, rng.integers(100, 150, (n, maxlen)),
                    rng.integers(150, 200, (n, maxlen)))
    return np.where(rng.random((n, maxlen)) < 0.15, band, zipf), labels
