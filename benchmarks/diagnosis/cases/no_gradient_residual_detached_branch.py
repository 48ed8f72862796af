"""Residual blocks whose branch output was .detach()ed: only the skip path carries gradient."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "residual",
    "fast": False,
    "expected": [{"kind": "no_gradient", "where": ["blocks.0.fc1.weight"], "step_max": 0}],
    "root_cause": "no_gradient",
    "why": "x + branch(x).detach(): the branch's weights are used in the forward pass but never "
           "receive a gradient; stem and head train through the identity path",
    "measured": {"loss_start": 0.922, "loss_end": 0.729, "never_grad_count": 12,
                 "first": ['blocks.0.fc1.bias', 'blocks.0.fc1.weight']},
}

torch.manual_seed(58)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, n_classes=3,
                           random_state=58)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class Block(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.fc1, self.relu, self.fc2 = nn.Linear(w, w), nn.ReLU(), nn.Linear(w, w)

    def forward(self, x):
        branch = self.fc2(self.relu(self.fc1(x)))
        return x + branch.detach()  # copied from an EMA-target snippet


class ResMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(20, 64)
        self.blocks = nn.Sequential(Block(64), Block(64), Block(64))
        self.head = nn.Linear(64, 3)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


model = ResMLP()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(300):
    idx = torch.randint(0, len(X), (128,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
