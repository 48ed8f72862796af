"""Tanh MLP regression on make_regression targets (standardized), Adam."""
import torch
import torch.nn as nn
from sklearn.datasets import make_regression

LABEL = {
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "tanh hidden layers with default init on standardized data stay in their linear range",
    "measured": {"loss_start": 0.0419, "loss_end": 0.00512, "max_update_over_w": 0.00384},
}

torch.manual_seed(9)
X, y = make_regression(n_samples=1500, n_features=10, noise=5.0, random_state=9)
X = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32).unsqueeze(1)

model = nn.Sequential(nn.Linear(10, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                      nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = ((model(X[idx]) - y[idx]) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print("step %d  mse %.4f" % (step, loss.item()))
