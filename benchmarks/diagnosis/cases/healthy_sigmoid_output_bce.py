"""Binary classifier, sigmoid output + BCELoss: the output saturates as it gets confident."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "a separable problem: the output sigmoid ends near 0/1 because the model is right, "
           "not because it is stuck",
    "measured": {"loss_start": 0.0972, "loss_end": 0.0154, "max_update_over_w": 0.0125},
}

torch.manual_seed(10)
X, y = make_classification(n_samples=1000, n_features=8, n_informative=6, class_sep=2.5,
                           random_state=10)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)

model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
bce = nn.BCELoss()
for step in range(600):
    idx = torch.randint(0, len(X), (64,))
    loss = bce(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
