"""A ReLU MLP whose first-layer biases were initialized to -6 ('to make it sparse')."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [{"kind": "dead_units", "where": ["fc1.weight"], "step_max": 10}],
    "allowed": ["loss_not_decreasing", "stalled_weights", "vanishing_gradient"],
    "root_cause": "dead_units",
    "why": "pre-activations w.x - 6 with std(w.x) ~ 1.1 are negative for nearly every input, so "
           "most first-layer ReLUs never fire and never get a gradient to recover",
    "measured": {"loss_start": 0.695, "loss_end": 0.693, "dead_step0_relu1": 1.0,
                 "dead_end_relu1": 1.0, "fc1_weight_update_over_w": 0.0},
}

torch.manual_seed(37)
X, y = make_classification(n_samples=2000, n_features=16, n_informative=8, random_state=37)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 64)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(64, 2)
        nn.init.constant_(self.fc1.bias, -6.0)

    def forward(self, x):
        return self.fc2(self.relu1(self.fc1(x)))


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
