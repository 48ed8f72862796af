"""Digits CNN with N(0, 1) weights (seed-004 style): the softmax is one-hot from step 0."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "CNN",
    "fast": False,
    "expected": [{"kind": "poor_initialization", "where": ["conv2.weight"], "step_max": 2}],
    "allowed": ["loss_not_decreasing", "dead_units"],
    "root_cause": "poor_initialization",
    "why": "std 1 is 2x the He std for conv1 (fan-in 9) but 12x for conv2 (fan-in 288) and "
           "23x for fc (fan-in 512): the scale jumps ~10x at conv2 and again at fc, the logits "
           "start at rms ~365 and the softmax is one-hot for most samples",
    "measured": {"loss_start": 150.0, "loss_end": 12.4, "rms_conv1": 1.66, "rms_conv2": 15.7,
                 "logit_rms_step0": 365.0},
}

torch.manual_seed(51)
d = load_digits()
X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(d.target)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 16, 10)
        for p in self.parameters():
            nn.init.normal_(p, 0.0, 1.0)

    def forward(self, x):
        x = self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))
        return self.fc(x.flatten(1))


model = CNN()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
for step in range(300):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
