"""Adam with lr=1.0 on a digits MLP: the loss jumps up after the first steps and stays up."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [
        {"kind": "loss_diverging", "where": []},
        {"kind": "saturated_activation", "where": ["0.weight"]},
    ],
    "root_cause": None,
    "why": "Adam moves every weight by ~1.0 per step: within a few steps the hidden tanh units "
           "are saturated for every input and the loss jumps from 2.3 to ~20-40, never coming "
           "back near its start",
    "measured": {"loss_start": 40.0, "loss_end": 21.5, "loss_first": 2.3, "min_window": 12.0,
                 "saturated_med_tanh": 0.999},
}

torch.manual_seed(54)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)

model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
