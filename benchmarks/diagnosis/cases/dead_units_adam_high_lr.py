"""ReLU MLP with Adam at lr 0.1: the first big steps push many units negative for good."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["0.weight"]}],
    "allowed": ["loss_not_decreasing", "loss_diverging"],
    "root_cause": None,
    "why": "Adam's first steps move every weight by ~lr = 0.1, far more than the weights' own "
           "size; most first- and second-layer units end with a negative pre-activation for "
           "every input (the few left still fit the digits)",
    "measured": {"loss_start": 1.21, "loss_end": 0.269, "dead_end_1": 0.969, "dead_end_3": 0.852,
                 "dead_on_all_1797_digits_after_training_1": 0.969,
                 "dead_on_all_1797_digits_after_training_3": 0.844},
}

torch.manual_seed(38)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)

model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
