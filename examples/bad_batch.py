"""One bad batch: a regression MLP (SGD with momentum) on scikit-learn's diabetes data, where
the batch of step 537 has its targets scaled by 40 (a unit mix-up in one shard of the data).

The loss jumps ~1000x for a few steps and recovers; between two recorded steps of a sampled
schedule it would be invisible. ``gradsight run examples/bad_batch.py`` reports a
``loss_spike`` at step 537 and names the layers whose gradient grew most.

    python examples/bad_batch.py [--steps 1500] [--bad-step 537] [--scale 40]
"""

import argparse

import torch
from sklearn.datasets import load_diabetes

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=1500)
parser.add_argument("--bad-step", type=int, default=537)
parser.add_argument("--scale", type=float, default=40.0)
args = parser.parse_args()

torch.manual_seed(0)
X, y = load_diabetes(return_X_y=True)
X = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)[:, None]
model = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                            torch.nn.ReLU(), torch.nn.Linear(64, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
generator = torch.Generator().manual_seed(1)
for step in range(args.steps):
    idx = torch.randint(0, len(X), (32,), generator=generator)
    target = y[idx] * (args.scale if step == args.bad_step else 1.0)
    loss = torch.nn.functional.mse_loss(model(X[idx]), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 250 == 0 or args.bad_step <= step < args.bad_step + 3:
        print(f"step {step} loss {loss.item():.4g}")
