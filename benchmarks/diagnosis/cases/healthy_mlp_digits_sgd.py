"""Digits (8x8) with an MLP and SGD + momentum."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "pixels scaled to [0, 1], default init, SGD momentum 0.9 lr 0.05: accuracy climbs fast",
    "measured": {"loss_start": 2.01, "loss_end": 0.016, "max_update_over_w": 0.00848},
}

torch.manual_seed(1)
digits = load_digits()
X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)

model = nn.Sequential(
    nn.Linear(64, 128), nn.ReLU(),
    nn.Linear(128, 64), nn.ReLU(),
    nn.Linear(64, 10),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(20):
    perm = torch.randperm(len(X))
    for i in range(0, len(X) - 63, 64):
        idx = perm[i:i + 64]
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    acc = (model(X).argmax(1) == y).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.4f} acc {acc:.3f}")
