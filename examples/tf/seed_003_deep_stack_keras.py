"""Seed 003 in Keras: 100 bias-free Dense(100) layers with N(0, SCALE) kernels, probed.

The seed multiplies a N(0, 1) input through 100 N(0, 1) 100x100 matrices: each layer scales
the signal by ~sqrt(100) = 10, so float32 overflows around layer 37/38; ``--scale 0.05`` shrinks
it ~0.5x per layer to 0. ``gradsight.probe`` measures this at the current weights without
training or changing the model, and predicts what Glorot init would give.

    python examples/tf/seed_003_deep_stack_keras.py [--scale 1.0] [--seed 0] [--batch 64]
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

import gradsight
from gradsight.reports.probe import render_probe


def deep_stack(scale: float, depth: int = 100, width: int = 100) -> keras.Sequential:
    """The seed's stack: ``depth`` bias-free Dense(width) layers, kernels N(0, scale)."""
    init = keras.initializers.RandomNormal(stddev=scale)
    return keras.Sequential([keras.Input((width,))] + [
        keras.layers.Dense(width, use_bias=False, kernel_initializer=init)
        for _ in range(depth)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="kernel std (seed: 1.0, 0.05)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    model = deep_stack(args.scale)
    x = np.random.default_rng(args.seed).standard_normal((args.batch, 100)).astype("float32")
    render_probe(gradsight.probe(model, x))


if __name__ == "__main__":
    main()
