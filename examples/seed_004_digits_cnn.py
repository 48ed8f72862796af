"""Seed 004 in PyTorch: "why doesn't my first conv layer change during training?"

The posted MNIST CNN draws every weight and bias from N(0, 1) and trains with Adam at 1e-3.
MNIST cannot be downloaded here, so this uses scikit-learn's bundled 8x8 digits with the same
architecture shape: conv 5x5 (32) -> pool -> conv 5x5 (64) -> pool -> fc 1024 -> dropout -> 10.
"""

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=1500)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--glorot", action="store_true", help="Glorot weights, zero biases")
args = parser.parse_args()

torch.manual_seed(args.seed)
digits = load_digits()
x_all = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
y_all = torch.tensor(digits.target)

model = nn.Sequential(
    nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(2 * 2 * 64, 1024), nn.ReLU(), nn.Dropout(0.25),
    nn.Linear(1024, 10),
)
for p in model.parameters():
    if args.glorot:
        nn.init.xavier_uniform_(p) if p.ndim > 1 else nn.init.zeros_(p)
    else:
        nn.init.normal_(p, 0.0, 1.0)  # tf.random_normal, as posted

first = model[0].weight.detach().clone()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
loss_fn = nn.CrossEntropyLoss()
rng = np.random.default_rng(args.seed)

for step in range(args.steps):
    idx = torch.from_numpy(rng.integers(0, len(x_all), args.batch_size))
    logits = model(x_all[idx])
    cost = loss_fn(logits, y_all[idx])
    optimizer.zero_grad()
    cost.backward()
    optimizer.step()
    if step % 100 == 0:
        acc = (logits.argmax(1) == y_all[idx]).float().mean().item()
        print(f"step {step} loss {cost.item():.4g} accuracy {acc:.3f}")

change = ((model[0].weight - first).norm() / first.norm()).item()
print(f"first conv layer changed by {100 * change:.1f}% of its norm")
