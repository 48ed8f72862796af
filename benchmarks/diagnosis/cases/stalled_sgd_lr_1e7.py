"""SGD with lr=1e-7 ('I lowered the learning rate to be safe')."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [
        {"kind": "stalled_weights", "where": ["0.weight"], "step_max": 10},
        {"kind": "loss_not_decreasing", "where": []},
    ],
    "root_cause": "stalled_weights",
    "why": "updates of lr x |grad| ~ 1e-8 of the weights per step: in 600 steps nothing moves "
           "and the loss stays at its initial value",
    "measured": {"loss_start": 2.31, "loss_end": 2.31, "update_over_w_0.weight": 3.04e-09,
                 "update_over_w_max": 7.58e-08},
}

torch.manual_seed(47)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)

model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=1e-7)
for step in range(600):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
