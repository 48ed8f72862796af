"""Wide MLP with heavy dropout (p=0.5) between layers."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "confounder",
    "confounder": "dropout",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "dropout zeroes half the activations on every training forward; units are not dead "
           "and the noisy loss still falls",
    "measured": {"loss_start": 1.86, "loss_end": 0.107, "dead_end_1": 0.0781,
                 "dead_end_4": 0.00391},
}

torch.manual_seed(18)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)

model = nn.Sequential(
    nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(256, 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
