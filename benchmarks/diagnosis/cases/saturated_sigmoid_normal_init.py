"""Sigmoid MLP with every weight drawn from N(0, 1) (tutorial-style manual init)."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [
        {"kind": "poor_initialization", "where": ["0.weight"], "step_max": 2},
        {"kind": "saturated_activation", "where": ["0.weight"], "step_max": 10},
    ],
    "allowed": ["vanishing_gradient", "loss_not_decreasing"],
    "root_cause": "poor_initialization",
    "why": "N(0, 1) weights on 64 inputs give pre-activations of std ~3-8, ~8x the Glorot "
           "scale, so most sigmoid outputs sit at 0 or 1 from the first step",
    "measured": {},
}

torch.manual_seed(41)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)

model = nn.Sequential(nn.Linear(64, 128), nn.Sigmoid(), nn.Linear(128, 128), nn.Sigmoid(),
                      nn.Linear(128, 10))
for m in model:
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 1.0)
        nn.init.zeros_(m.bias)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
