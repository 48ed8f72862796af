"""The fix of sotte/pytorch_tutorial issue 5: ``loss.backward()`` (commit 80abe96).

The same one-feature linear regression (``make_regression`` with noise 10, ``nn.Linear(1, 1)``,
SGD at 0.001, ``MSELoss``); the notebook's train-step cell, re-run by hand there, runs 60 times
here. The loss falls at every step, slowly at this rate.
"""
import torch
from sklearn.datasets import make_regression
from torch import nn, optim

LABEL = {
    "framework": "torch",
    "source": "https://github.com/sotte/pytorch_tutorial/issues/5",
    "question": "Why does the tutorial's linear regression call loss.backward(loss)? (the fix: "
                "loss.backward())",
    "changes": ["the notebook's train-step cell run 60 times in a loop (it is re-run by hand "
                "there); torch.manual_seed(0) and make_regression(random_state=0)"],
    "pair": "torch_sotte_backward_loss",
    "category": "healthy",
    "architecture": "linear regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "loss.backward() gives the plain gradient: the loss falls at every step, 1961 -> 1566 in 60 steps (0.81x the best constant 1959), slowly at lr 0.001 but steadily",
    "measured": {"loss_start": 1950.0, "loss_end": 1580.0, "loss_first": 1950.0,
                 "best_constant_loss": 1960.0, "loss_end_over_best_constant": 0.809},
}

torch.manual_seed(0)
n_features = 1
n_samples = 100
X, y = make_regression(n_samples=n_samples, n_features=n_features, noise=10, random_state=0)
X = torch.from_numpy(X).float()
y = torch.from_numpy(y.reshape((n_samples, n_features))).float()


class LinReg(nn.Module):
    def __init__(self, input_dim):
        super().__init__()
        self.beta = nn.Linear(input_dim, 1)

    def forward(self, X):
        return self.beta(X)


device = torch.device("cpu")
model = LinReg(n_features).to(device)
optimizer = optim.SGD(model.parameters(), lr=0.001)
criterion = nn.MSELoss()
X, y = X.to(device), y.to(device)

for it in range(60):
    # Train step
    model.train()
    optimizer.zero_grad()
    y_ = model(X)
    loss = criterion(y_, y)
    loss.backward()
    optimizer.step()
    # Eval
    model.eval()
    with torch.no_grad():
        y_ = model(X)
    print(f"{it} MSE: {loss.item():0.1f}")
