"""CNN whose conv biases were set to -1 by a copy-pasted init loop."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "CNN",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["conv1.weight"], "step_max": 10}],
    "allowed": ["loss_not_decreasing", "stalled_weights", "vanishing_gradient"],
    "root_cause": "dead_units",
    "why": "conv1 outputs are w*x - 1 with |w*x| < 1 for [0, 1] pixels, so its ReLU channels "
           "are zero everywhere and get no gradient",
    "measured": {"loss_start": 2.3, "loss_end": 2.3, "dead_step0_relu1": 1.0,
                 "dead_end_relu1": 1.0, "conv1_weight_grad0": 0.0},
}

torch.manual_seed(39)
d = load_digits()
X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(d.target)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(16 * 64, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.constant_(m.bias, -1.0)

    def forward(self, x):
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc(x.flatten(1))


model = CNN()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for step in range(300):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
