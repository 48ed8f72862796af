"""Bundled stand-ins for the datasets the original programs download (nothing may download at run
time): scikit-learn's 8x8 digits, scaled to [0, 1] and resized to the original's image size, keep
the shape, the value range and a learnable 10-class structure of MNIST / Fashion-MNIST / CIFAR-10.
"""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits


def digits_images(size: int = 28, channels: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, channels, size, size) float images in [0, 1] and (N,) int64 labels, N = 1797."""
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x.repeat(1, channels, 1, 1), torch.tensor(d.target, dtype=torch.int64)


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int = 0):
    """One shuffled epoch of (inputs, labels) batches, like a DataLoader with shuffle=True."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        yield x[idx], y[idx]
