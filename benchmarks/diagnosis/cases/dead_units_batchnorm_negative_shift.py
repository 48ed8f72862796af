"""BatchNorm MLP whose BN shift (bias/beta) was initialized to -5 before the ReLU."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "BatchNorm",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["bn1.weight"], "step_max": 10}],
    "allowed": ["loss_not_decreasing", "stalled_weights", "vanishing_gradient"],
    "root_cause": "dead_units",
    "why": "batch norm outputs gamma * z - 5 with z ~ N(0, 1), so the pre-activations are "
           "negative for every input, the ReLU after bn1 passes nothing, and beta gets no gradient",
    "measured": {"loss_start": 0.693, "loss_end": 0.694, "dead_step0_relu1": 1.0,
                 "dead_end_relu1": 1.0},
}

torch.manual_seed(60)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, random_state=60)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 64, bias=False)
        self.bn1 = nn.BatchNorm1d(64)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(64, 2)
        nn.init.constant_(self.bn1.bias, -5.0)

    def forward(self, x):
        return self.fc2(self.relu1(self.bn1(self.fc1(x))))


model = BNNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
