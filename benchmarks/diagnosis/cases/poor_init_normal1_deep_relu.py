"""An 6-layer ReLU MLP initialized with torch.nn.init.normal_(w) (std 1) everywhere."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "poor_initialization", "where": ["2.weight"], "step_max": 2}],
    "allowed": ["exploding_gradient", "loss_diverging", "dead_units", "nonfinite"],
    "root_cause": "poor_initialization",
    "why": "std 1 is ~5.7x the He std sqrt(2/64) of each 64-wide layer (3.2x for the 20-input "
           "first one), so activations grow ~5.8x per layer and the logits start at rms ~4e4",
    "measured": {"loss_start": 19200.0, "loss_end": 1480.0,
                 "rms_per_linear_step0": [8.74, 50.6, 272.0, 1480.0, 7980.0, 37900.0],
                 "dead_end_max": 0.0},
}

torch.manual_seed(49)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, n_classes=4,
                           random_state=49)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

layers, width = [], 20
for _ in range(5):
    layers += [nn.Linear(width, 64), nn.ReLU()]
    width = 64
layers.append(nn.Linear(64, 4))
model = nn.Sequential(*layers)
for m in model.modules():
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight)
        nn.init.zeros_(m.bias)

optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
