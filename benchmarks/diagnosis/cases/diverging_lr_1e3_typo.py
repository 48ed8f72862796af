"""Someone typed lr=1e3 instead of 1e-3: one step kills every ReLU and the loss jumps 200x."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [
        {"kind": "loss_diverging", "where": []},
        {"kind": "dead_units", "where": ["fc1.weight"], "step_max": 10},
    ],
    "allowed": ["exploding_gradient", "stalled_weights", "vanishing_gradient"],
    "root_cause": None,
    "why": "SGD with lr 1000: the first update is ~1000x the weights, which drives every "
           "first-layer ReLU negative for all inputs (no NaN: dead units pass zeros, get no "
           "gradient), and the loss jumps from 2.3 to ~490 and stays there",
    "measured": {"loss_start": 494.0, "loss_end": 486.0, "loss_first": 2.33, "dead_end_relu": 1.0},
}

torch.manual_seed(34)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


model = MLP()
optimizer = torch.optim.SGD(model.parameters(), lr=1e3)
for step in range(200):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(step, loss.item())
