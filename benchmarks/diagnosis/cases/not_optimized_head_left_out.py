"""CNN whose optimizer was built from model.features only: the classifier never updates."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "CNN",
    "fast": True,
    "expected": [{"kind": "not_optimized", "where": ["classifier.weight", "classifier.bias"],
                  "step_max": 0}],
    "allowed": ["loss_not_decreasing"],  # measured: the loss stays nearly flat
    "root_cause": "not_optimized",
    "why": "the classifier's parameters get gradients at every backward but are in no param "
           "group, so they keep their random initial values",
    "measured": {"loss_start": 2.31, "loss_end": 2.25,
                 "not_in_optimizer": ['classifier.bias', 'classifier.weight']},
}

torch.manual_seed(45)
d = load_digits()
X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(d.target)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Flatten())
        self.classifier = nn.Linear(16 * 16, 10)

    def forward(self, x):
        return self.classifier(self.features(x))


model = Net()
optimizer = torch.optim.Adam(model.features.parameters(), lr=1e-3)
for step in range(300):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
