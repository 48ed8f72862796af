"""Tanh MLP fed raw features in the hundreds (nobody standardized the data)."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "saturated_activation", "where": ["0.weight"], "step_max": 10}],
    "allowed": ["loss_not_decreasing", "vanishing_gradient"],
    "root_cause": "saturated_activation",
    "why": "inputs with std ~100 give first-layer pre-activations of std ~30, so almost every "
           "tanh output is within 0.01 of +-1 and passes almost no gradient",
    "measured": {"loss_start": 0.606, "loss_end": 0.389, "saturated_init": 0.977,
                 "saturated_med": 0.977, "preact_rms_step0": 89.8},
}

torch.manual_seed(40)
X, y = make_classification(n_samples=2000, n_features=12, n_informative=6, random_state=40)
X = torch.tensor(X * 100 + 50, dtype=torch.float32)
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(12, 64), nn.Tanh(), nn.Linear(64, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
