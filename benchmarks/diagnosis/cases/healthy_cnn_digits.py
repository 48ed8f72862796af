"""A small CNN on the 8x8 digits with Adam."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

LABEL = {
    "category": "healthy",
    "architecture": "CNN",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "two conv layers, default init, Adam 1e-3 on [0, 1] pixels: loss drops ~20x",
    "measured": {"loss_start": 2.08, "loss_end": 0.0567, "max_update_over_w": 0.00442},
}

torch.manual_seed(2)
digits = load_digits()
X = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(digits.target)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = self.relu1(self.conv1(x))
        x = self.pool(self.relu2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


model = ConvNet()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = F.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(f"step {step} loss {loss.item():.4f}")
