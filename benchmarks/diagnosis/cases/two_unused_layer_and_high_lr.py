"""Two bugs at once: an auxiliary head that is never used, and SGD with far too high an lr."""
import torch
import torch.nn as nn
from sklearn.datasets import make_regression

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [
        {"kind": "no_gradient", "where": ["aux_head.weight"], "step_max": 0},
        {"kind": "loss_diverging", "where": []},
    ],
    "allowed": ["exploding_gradient", "nonfinite"],
    "root_cause": None,
    "why": "aux_head is never called (grad None throughout) and, independently, lr 1.0 on "
           "this regression overshoots every step: the loss grows 1.9 -> 1.6e14 in five steps, "
           "then inf/NaN",
    "measured": {"loss_step0": 1.92, "losses_steps1_5": [7.69, 209.0, 568.0, 2.91e7, 1.62e14],
                 "first_nonfinite_loss_step": 6,
                 "never_grad": ["aux_head.bias", "aux_head.weight"]},
}

torch.manual_seed(56)
X, y = make_regression(n_samples=1000, n_features=8, noise=0.5, random_state=56)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y / y.std(), dtype=torch.float32).unsqueeze(1)


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 1)
        self.aux_head = nn.Linear(64, 1)  # planned auxiliary loss, never wired up

    def forward(self, x):
        return self.head(self.body(x))


model = Regressor()
optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
for step in range(300):
    idx = torch.randint(0, len(X), (32,))
    loss = nn.functional.mse_loss(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        print(step, loss.item())
