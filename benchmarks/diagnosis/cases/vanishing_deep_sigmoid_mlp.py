"""A 10-layer sigmoid MLP trained with SGD: 'my first layers never change'."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [{"kind": "vanishing_gradient", "where": ["0.weight"], "step_max": 10}],
    "allowed": ["stalled_weights", "loss_not_decreasing"],
    "root_cause": "vanishing_gradient",
    "why": "each sigmoid multiplies the backward signal by at most 0.25, so after 9 of them the "
           "first layer's |grad|/|weight| is orders of magnitude below the last layer's",
    "measured": {"loss_start": 0.694, "loss_end": 0.693, "g_over_w_0.weight": 5.16e-09,
                 "g_over_w_16.weight": 0.00896, "g_over_w_18.weight": 0.302},
}

torch.manual_seed(30)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, random_state=30)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

layers = []
width = 20
for i in range(9):
    layers += [nn.Linear(width, 32), nn.Sigmoid()]
    width = 32
layers.append(nn.Linear(32, 2))
model = nn.Sequential(*layers)

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(600):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item(), model[0].weight.grad.norm().item(),
              model[-1].weight.grad.norm().item())
