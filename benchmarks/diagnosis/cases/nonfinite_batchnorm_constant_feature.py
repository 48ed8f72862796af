"""BatchNorm1d(eps=0) on raw inputs that include a constant column: 0/0 in the first module."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "BatchNorm",
    "fast": False,
    "expected": [{"kind": "nonfinite", "where": ["input_bn"], "step_max": 0}],
    "root_cause": "nonfinite",
    "why": "a constant feature has batch variance 0; with eps=0 batch norm computes 0/0 = NaN "
           "for that feature at step 0, and NaN reaches the loss and then every weight",
    "measured": {},
}

torch.manual_seed(59)
X, y = make_classification(n_samples=1000, n_features=9, n_informative=5, random_state=59)
X = torch.tensor(X, dtype=torch.float32)
X = torch.cat([X, torch.ones(len(X), 1)], dim=1)  # an 'intercept' column
y = torch.tensor(y)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_bn = nn.BatchNorm1d(10, eps=0.0)
        self.fc1 = nn.Linear(10, 32)
        self.bn1 = nn.BatchNorm1d(32)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(self.relu(self.bn1(self.fc1(self.input_bn(x)))))


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(200):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        print(step, loss.item())
