"""Training loop without optimizer.zero_grad(): gradients accumulate over all steps."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    # gradients_not_reset (a kind added after this label) is the mechanism the measured gradient
    # growth (70.6x, linear in the step) shows, and the script's bug: the root cause
    "expected": [{"kind": "gradients_not_reset", "where": ["0.weight"]},
                 {"kind": "loss_diverging", "where": []}],
    "allowed": ["exploding_gradient"],
    "root_cause": "gradients_not_reset",
    "why": "without zero_grad each .grad is the sum of all past gradients, so the effective "
           "step grows every iteration: the loss first falls, then climbs ~14x above its best",
    "measured": {"loss_start": 0.506, "loss_end": 3.48, "min_window": 0.254,
                 "grad_growth_0.weight": 70.6, "dead_end_1": 0.0},
}

torch.manual_seed(53)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, random_state=53)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(600):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    loss.backward()  # forgot optimizer.zero_grad()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
