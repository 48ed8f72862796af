"""Residual MLP: the stem's ReLU units are dead (bias -6) and the head is not in the optimizer."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "residual",
    "fast": False,
    "expected": [
        {"kind": "dead_units", "where": ["stem.weight"], "step_max": 10},
        {"kind": "not_optimized", "where": ["head.weight"], "step_max": 0},
    ],
    "allowed": ["loss_not_decreasing", "stalled_weights", "vanishing_gradient"],
    "root_cause": None,
    "why": "stem bias -6 kills its ReLUs for every standardized input, and the optimizer was "
           "given model.blocks + model.stem only, so head keeps its random init",
    "measured": {"loss_start": 0.695, "loss_end": 0.694, "dead_step0_stem_act": 1.0,
                 "dead_end_stem_act": 1.0, "not_in_optimizer": ['head.bias', 'head.weight']},
}

torch.manual_seed(57)
X, y = make_classification(n_samples=2000, n_features=16, n_informative=8, random_state=57)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class Block(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.fc1, self.relu, self.fc2 = nn.Linear(w, w), nn.ReLU(), nn.Linear(w, w)

    def forward(self, x):
        return x + self.fc2(self.relu(self.fc1(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(16, 32)
        self.stem_act = nn.ReLU()
        self.blocks = nn.Sequential(Block(32), Block(32))
        self.head = nn.Linear(32, 2)
        nn.init.constant_(self.stem.bias, -6.0)

    def forward(self, x):
        return self.head(self.blocks(self.stem_act(self.stem(x))))


model = ResNet()
params = list(model.stem.parameters()) + list(model.blocks.parameters())
optimizer = torch.optim.SGD(params, lr=0.05)
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
