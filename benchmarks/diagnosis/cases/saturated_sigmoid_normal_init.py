"""Sigmoid MLP with every weight drawn from N(0, 1) (tutorial-style manual init)."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "saturated_activation", "where": ["2.weight"], "step_max": 10}],
    "allowed": ["poor_initialization", "vanishing_gradient"],
    "root_cause": None,
    "why": "N(0, 1) weights are 8-11x the Glorot std, so the second layer's pre-activations "
           "have rms ~7 and ~60% of its sigmoid outputs sit within 0.01 of 0 or 1 for the whole "
           "run (the first sigmoid ~23%); the sigmoids bound the scale, so it does not explode "
           "with depth, and the loss still falls",
    "measured": {"loss_start": 1.64, "loss_end": 0.183, "saturated_med_1": 0.232,
                 "saturated_med_3": 0.604, "preact_rms_2": 7.15},
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
