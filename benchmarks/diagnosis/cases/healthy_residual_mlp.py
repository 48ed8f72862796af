"""A residual MLP (pre-activation blocks) on a 20-feature classification problem."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "healthy",
    "architecture": "residual",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "4 residual blocks x + W2 relu(W1 x), default init, Adam 1e-3: identity paths keep "
           "gradients healthy and the loss falls",
    "measured": {"loss_start": 0.573, "loss_end": 0.0234, "max_update_over_w": 0.00368},
}

torch.manual_seed(6)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, n_classes=3,
                           random_state=6)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(width, width)

    def forward(self, x):
        return x + self.fc2(self.relu(self.fc1(x)))


class ResMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(20, 64)
        self.blocks = nn.Sequential(*[Block(64) for _ in range(4)])
        self.head = nn.Linear(64, 3)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


model = ResMLP()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(500):
    idx = torch.randint(0, len(X), (128,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 100 == 0:
        print(step, loss.item())
