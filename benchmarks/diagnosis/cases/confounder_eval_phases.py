"""Validation with model.eval() + torch.no_grad() every 50 steps inside the training loop."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "confounder",
    "confounder": "model.eval() phases inside training scripts",
    "architecture": "BatchNorm",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "eval forwards (no backward, BatchNorm running stats, dropout off, a 500-sample "
           "batch) run between training steps; training itself is healthy",
    "measured": {"loss_start": 0.152, "loss_end": 0.00468},
}

torch.manual_seed(23)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)
X_train, y_train, X_val, y_val = X[:1300], y[:1300], X[1300:], y[1300:]

model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2),
                      nn.Linear(128, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for step in range(500):
    model.train()
    idx = torch.randint(0, len(X_train), (64,))
    loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        model.eval()
        with torch.no_grad():
            val_loss = nn.functional.cross_entropy(model(X_val), y_val)
            acc = (model(X_val).argmax(1) == y_val).float().mean()
        print(f"step {step} train {loss.item():.3f} val {val_loss.item():.3f} acc {acc:.3f}")
