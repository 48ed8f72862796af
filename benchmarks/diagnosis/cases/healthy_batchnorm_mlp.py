"""MLP with BatchNorm1d after every hidden layer, plain SGD."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "healthy",
    "architecture": "BatchNorm",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "Linear(bias=False)-BN-ReLU x3, SGD lr 0.1: batch norm keeps scales right, loss falls",
    "measured": {"loss_start": 0.71, "loss_end": 0.0124, "max_update_over_w": 0.0454},
}

torch.manual_seed(7)
X, y = make_classification(n_samples=2000, n_features=30, n_informative=15, n_classes=4,
                           random_state=7)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

model = nn.Sequential(
    nn.Linear(30, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
    nn.Linear(128, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
    nn.Linear(128, 64, bias=False), nn.BatchNorm1d(64), nn.ReLU(),
    nn.Linear(64, 4),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(500):
    idx = torch.randint(0, len(X), (128,))
    loss = nn.CrossEntropyLoss()(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
