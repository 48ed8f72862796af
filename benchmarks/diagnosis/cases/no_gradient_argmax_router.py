"""Mixture of experts with a hard argmax router: the router never gets a gradient."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "no_gradient", "where": ["router.weight"], "step_max": 0}],
    "root_cause": "no_gradient",
    "why": "argmax is piecewise constant and returns an integer index: nothing upstream of it "
           "(the router) is in the autograd graph of the loss",
    "measured": {"loss_start": 0.498, "loss_end": 0.208,
                 "never_grad": ['router.bias', 'router.weight']},
}

torch.manual_seed(44)
X, y = make_classification(n_samples=2000, n_features=12, n_informative=6, random_state=44)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class HardMoE(nn.Module):
    def __init__(self, n_experts=4):
        super().__init__()
        self.router = nn.Linear(12, n_experts)
        self.experts = nn.ModuleList([nn.Linear(12, 2) for _ in range(n_experts)])

    def forward(self, x):
        choice = self.router(x).argmax(dim=1)
        outs = torch.stack([e(x) for e in self.experts], dim=1)
        return outs[torch.arange(len(x)), choice]


model = HardMoE()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
