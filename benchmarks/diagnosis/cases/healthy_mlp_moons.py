"""Two moons with a small ReLU MLP and Adam: the textbook run that just works."""
import torch
import torch.nn as nn
from sklearn.datasets import make_moons

LABEL = {
    "category": "healthy",
    "architecture": "MLP",
    "fast": True,
    "expected": [],
    "root_cause": None,
    "why": "default init, Adam lr 1e-2, normalized 2-d inputs: the loss falls to near zero",
    "measured": {"loss_start": 0.126, "loss_end": 0.000814, "max_update_over_w": 0.00791},
}

torch.manual_seed(0)
X, y = make_moons(n_samples=1000, noise=0.1, random_state=0)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 64)
        self.act1 = nn.ReLU()
        self.fc2 = nn.Linear(64, 64)
        self.act2 = nn.ReLU()
        self.out = nn.Linear(64, 2)

    def forward(self, x):
        return self.out(self.act2(self.fc2(self.act1(self.fc1(x)))))


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.CrossEntropyLoss()

for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = criterion(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
print("final loss", loss.item())
