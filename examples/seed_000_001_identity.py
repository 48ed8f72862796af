"""Seeds 000/001 in PyTorch: an identity encoder that stops learning with one more layer.

    python examples/seed_000_001_identity.py 2   # learns (after a ~4,000-step plateau)
    python examples/seed_000_001_identity.py 3   # never learns: vanishing gradients

As posted: every weight and bias drawn from N(0, 1e-3), plain SGD with lr 1e-3, gradients
clipped by value at 4.5, one random input in [-1, 1) per step, 10,000 steps, and the loss
looks only at the first output.
"""

import argparse

import torch

parser = argparse.ArgumentParser()
parser.add_argument("depth", type=int, nargs="?", default=3, help="number of Linear layers")
parser.add_argument("--steps", type=int, default=10_000)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--xavier", action="store_true", help="the answer's fix: Glorot + bias 0.1")
args = parser.parse_args()

torch.manual_seed(args.seed)
DEPTH_1 = 16
layers = [torch.nn.Linear(1, DEPTH_1), torch.nn.ReLU()]
for _ in range(args.depth - 2):
    layers += [torch.nn.Linear(DEPTH_1, DEPTH_1), torch.nn.ReLU()]
layers.append(torch.nn.Linear(DEPTH_1, 1))
model = torch.nn.Sequential(*layers)

for layer in model:
    if isinstance(layer, torch.nn.Linear):
        if args.xavier:
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.constant_(layer.bias, 0.1)
        else:
            torch.nn.init.normal_(layer.weight, 0.0, 1e-3)
            torch.nn.init.normal_(layer.bias, 0.0, 1e-3)

opt = torch.optim.SGD(model.parameters(), lr=1e-3)

for i in range(args.steps):
    x = torch.rand(1, 1) * 2.0 - 1.0
    estimate0 = 2.0 * model(x)[0, 0]
    distance = ((x[0, 0] - estimate0) ** 2).sum()
    opt.zero_grad()
    distance.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), 4.5)
    opt.step()
    if i % 1000 == 0:
        print(i, distance.item())

with torch.no_grad():
    for v in (-0.5, 0.0, 0.5):
        print("input", v, "estimate", 2.0 * model(torch.tensor([[v]]))[0, 0].item())
