"""Gradient accumulation: four micro-batches, four backward() calls per optimizer.step()."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "confounder",
    "confounder": "gradient accumulation (several backward per step)",
    "architecture": "MLP",
    "fast": True,
    "expected": [],
    "root_cause": None,
    "why": "loss / 4 accumulated over 4 micro-batches of 16, then one Adam step: an effective "
           "batch of 64 that trains normally",
    "measured": {"loss_start": 0.514, "loss_end": 0.0342, "backward_calls": 1200,
                 "optimizer_steps": 300},
}

torch.manual_seed(13)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)

model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
ACCUM = 4
for step in range(300):
    optimizer.zero_grad()
    for micro in range(ACCUM):
        idx = torch.randint(0, len(X), (16,))
        loss = nn.functional.cross_entropy(model(X[idx]), y[idx]) / ACCUM
        loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item() * ACCUM)
