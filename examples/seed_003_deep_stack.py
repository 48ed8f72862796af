"""Seed 003 in PyTorch: how activation scale explodes or collapses through 100 layers.

    python examples/seed_003_deep_stack.py               # N(0, 1) weights: inf/NaN by layer ~37
    python examples/seed_003_deep_stack.py --scale 0.05  # collapses to ~0
    python examples/seed_003_deep_stack.py --scale 0.1   # sqrt(1/100): the scale stays ~1

As posted: a 100-layer, 100-wide linear stack without activations (or biases), each weight drawn
from N(0, 1) times ``--scale``, one N(0, 1) input row. The seed measured it by hand, layer by
layer; this port prints the same numbers, then trains the stack for ``--steps`` steps of SGD so
that ``gradsight probe`` (which stops at the first step) and ``gradsight run`` have a run to see.
"""

import argparse

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--scale", type=float, default=1.0, help="weights are N(0, 1) * scale")
parser.add_argument("--depth", type=int, default=100)
parser.add_argument("--width", type=int, default=100)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)
model = torch.nn.Sequential(
    *[torch.nn.Linear(args.width, args.width, bias=False) for _ in range(args.depth)]
)
with torch.no_grad():
    for layer in model:
        layer.weight.copy_(torch.randn(args.width, args.width) * args.scale)

x = torch.randn(1, args.width)
with torch.no_grad():  # the seed's measurement: where does the mean first go NaN/Inf?
    h, first_bad = x, None
    for i, layer in enumerate(model):
        h = layer(h)
        if first_bad is None and not torch.isfinite(h).all():
            first_bad = i
print(f"input std {x.std().item():.3g}; output mean {h.mean().item():.3g} std {h.std().item():.3g}"
      f"; first non-finite layer {first_bad}")

target = torch.randn(1, args.width)
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
for step in range(args.steps):
    loss = ((model(x) - target) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 10 == 0:
        print(step, loss.item())
