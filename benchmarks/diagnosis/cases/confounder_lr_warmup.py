"""Linear learning-rate warm-up from 0 over the first 50 steps (LambdaLR), then constant."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "confounder",
    "confounder": "LR warm-up starting at 0",
    "architecture": "MLP",
    "fast": True,
    "expected": [],
    "root_cause": None,
    "why": "the first steps' lr is 0, 1/50, 2/50... of 1e-2: tiny updates by design, then "
           "normal training; the loss falls",
    "measured": {"loss_start": 1.94, "loss_end": 0.0101, "lr_step0": 0.0, "lr_peak": 0.01},
}

torch.manual_seed(20)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)

model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
WARMUP = 50
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, s / WARMUP))
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % 50 == 0:
        print(step, loss.item(), scheduler.get_last_lr())
