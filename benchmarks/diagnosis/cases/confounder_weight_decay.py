"""SGD with strong weight decay (5e-3): weights shrink while the model still fits."""
import torch
import torch.nn as nn
from sklearn.datasets import make_moons

LABEL = {
    "category": "confounder",
    "confounder": "weight decay",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "weight decay pulls the weights toward 0 every step (weight norms shrink), the data "
           "term still wins and the loss falls",
    "measured": {"loss_start": 0.22, "loss_end": 0.0672, "weight0_0": 6.37},
}

torch.manual_seed(19)
X, y = make_moons(n_samples=1000, noise=0.15, random_state=19)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-3)
for step in range(600):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item(), sum(p.norm().item() for p in model.parameters()))
