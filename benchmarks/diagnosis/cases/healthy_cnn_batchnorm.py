"""CNN with BatchNorm2d on the digits, SGD with momentum."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "healthy",
    "architecture": "CNN+BatchNorm",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "conv-BN-ReLU x2 + linear, SGD momentum lr 0.05: trains quickly",
    "measured": {"loss_start": 1.03, "loss_end": 0.0164, "max_update_over_w": 0.0105},
}

torch.manual_seed(8)
d = load_digits()
X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(d.target)

net = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
    nn.AdaptiveAvgPool2d(2), nn.Flatten(),
    nn.Linear(32 * 4, 10),
)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(net(X[idx]), y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 50 == 0:
        print(step, loss.item())
