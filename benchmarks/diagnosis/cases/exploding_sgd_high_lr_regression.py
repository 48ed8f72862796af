"""Regression MLP with SGD lr 0.5 on unstandardized targets: gradients grow until NaN."""
import torch
import torch.nn as nn
from sklearn.datasets import make_regression

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [
        {"kind": "exploding_gradient", "where": ["0.weight"]},
        {"kind": "loss_diverging", "where": []},
        {"kind": "nonfinite", "where": []},
    ],
    "root_cause": "exploding_gradient",
    "why": "lr 0.5 is past the stability limit of this quadratic problem: every step "
           "overshoots further, gradient norms grow by orders of magnitude, the loss blows up "
           "and ends in inf/NaN",
    "measured": {"loss_first": 267.0,
                 "last_finite_losses": [267.0, 146.0, 688000.0, 3.08e+16],
                 "grad_growth_0.weight": 2.43e+34, "first_nonfinite_loss_step": 4},
}

torch.manual_seed(32)
X, y = make_regression(n_samples=500, n_features=10, noise=1.0, random_state=32)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y / 10, dtype=torch.float32).unsqueeze(1)

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(300):
    idx = torch.randint(0, len(X), (32,))
    loss = nn.functional.mse_loss(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(step, loss.item())
