"""A hand-written 'normalize to proportions' layer that divides by a sum that can be 0."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [{"kind": "nonfinite", "where": ["normalize"], "step_max": 10}],
    "root_cause": "nonfinite",
    "why": "x / x.sum(1) after a narrow ReLU: rows whose 4 ReLU outputs are all 0 give 0/0 = NaN "
           "in the normalize module's output, and NaN spreads to the loss and weights",
    "measured": {"loss_start": "nan", "loss_end": "nan", "first_nonfinite_loss_step": 0,
                 "first_nonfinite_module": {'step': 0, 'module': 'normalize'}},
}

torch.manual_seed(35)
X, y = make_classification(n_samples=1000, n_features=10, random_state=35)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class Proportions(nn.Module):
    def forward(self, x):
        return x / x.sum(dim=1, keepdim=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 4)
        self.relu = nn.ReLU()
        self.normalize = Proportions()
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.normalize(self.relu(self.fc1(x))))


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(300):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
