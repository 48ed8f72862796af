"""Adam on features measured in the wrong unit (x 1e-2): tiny raw first-layer gradients.

At the start the first layer's |grad|/|weight| is ~20x below the output layer's and ~400x below
the output bias's, but Adam divides each gradient by its own running scale, so its
update/weight ratio is normal (~5e-3 per step) and the layer learns (it has no bias, so its
units are driven by the inputs, not stuck at the sign of a bias)."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "confounder",
    "confounder": "Adam-family optimizers (judge update/weight, not raw gradient size)",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "raw first-layer gradients are small because the inputs are ~1e-2, "
           "but Adam's per-parameter normalization gives it a normal update/weight ratio",
    "measured": {"loss_start": 0.513, "loss_end": 0.136, "g_over_w_init_0.weight": 0.00104,
                 "g_over_w_init_2.weight": 0.0185, "update_over_w_0.weight": 0.0056,
                 "dead_end_1": 0.0},
}

torch.manual_seed(21)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, random_state=21)
X = torch.tensor(X * 1e-2, dtype=torch.float32)  # centimetres instead of metres
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(20, 128, bias=False), nn.ReLU(), nn.Linear(128, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(600):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
