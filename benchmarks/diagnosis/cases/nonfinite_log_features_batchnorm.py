"""A 'log-transform the skewed features' layer in front of a BatchNorm MLP; some are negative."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "BatchNorm",
    "fast": False,
    "expected": [{"kind": "nonfinite", "where": ["log_features"], "step_max": 0}],
    "root_cause": "nonfinite",
    "why": "torch.log of standardized features (half of them negative, some 0) gives NaN/-inf "
           "in the log_features module at step 0; batch norm spreads NaN to every sample",
    "measured": {"loss_start": "nan", "loss_end": "nan", "first_nonfinite_loss_step": 0,
                 "first_nonfinite_module": {'step': 0, 'module': 'log_features'}},
}

torch.manual_seed(59)
X, y = make_classification(n_samples=1000, n_features=10, n_informative=5, random_state=59)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class LogFeatures(nn.Module):
    def forward(self, x):
        return torch.log(x + 1e-6)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.log_features = LogFeatures()
        self.fc1 = nn.Linear(10, 32)
        self.bn1 = nn.BatchNorm1d(32)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(self.relu(self.bn1(self.fc1(self.log_features(x)))))


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
