"""A 8-layer tanh MLP where the user scaled PyTorch's default init by 0.05 'for stability'."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [
        {"kind": "poor_initialization", "where": ["0.weight"], "step_max": 2},
        {"kind": "vanishing_gradient", "where": ["0.weight"], "step_max": 10},
    ],
    "allowed": ["stalled_weights", "loss_not_decreasing"],
    "root_cause": "poor_initialization",
    "why": "each layer is ~30x below the Glorot/tanh scale, so the signal collapses ~30x per "
           "layer forward and backward: the first layers' gradients vanish",
    "measured": {"loss_start": 0.693, "loss_end": 0.693, "rms_linear0": 0.057,
                 "rms_linear2": 0.00397, "g_over_w_vs_best_0.weight": 3.22e-11,
                 "g_over_w_0.weight": 9.67e-11, "g_over_w_14.weight": 0.0464},
}

torch.manual_seed(50)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, random_state=50)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

layers, width = [], 20
for _ in range(7):
    layers += [nn.Linear(width, 64), nn.Tanh()]
    width = 64
layers.append(nn.Linear(64, 2))
model = nn.Sequential(*layers)
with torch.no_grad():
    for p in model.parameters():
        p.mul_(0.05)

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
