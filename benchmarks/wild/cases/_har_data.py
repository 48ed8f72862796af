"""Synthetic stand-in for UCI HAR windows: 6 activities, 128 samples at 50 Hz, 9 (or 6) sensor
streams, values in the dataset's range (about -1.5..1.5, per-stream std 0.1-0.5). Each class has
its own dominant frequency, amplitude and per-stream offset; the rest is noise."""
import numpy as np


def har_like(n: int, channels: int = 9, seed: int = 0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 6, size=n)
    t = np.arange(128) / 50.0
    freq = np.array([1.8, 2.2, 2.0, 0.0, 0.0, 0.0])   # walking-like classes oscillate
    amp = np.array([0.35, 0.45, 0.55, 0.02, 0.03, 0.02])
    offs = rng.normal(0, 0.3, size=(6, channels))      # posture (gravity) per class and stream
    phase = rng.uniform(0, 2 * np.pi, size=(n, channels))
    x = (amp[y, None, None] * np.sin(2 * np.pi * freq[y, None, None] * t[None, :, None] + phase[:, None, :])
         + offs[y][:, None, :] + rng.normal(0, 0.12, size=(n, 128, channels)))
    return x.astype(np.float32), y.astype(np.int64)
