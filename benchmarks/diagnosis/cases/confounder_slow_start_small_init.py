"""Seed 000/001, 2-layer version: N(0, 1e-3) init, SGD lr 4e-3, one sample per step.

The posted run (lr 1e-3, 10,000 steps) is flat for ~4,000 steps; at lr 4e-3 it
is flat for ~1,000 of 3,000 steps while the tiny weights grow, then falls ~400x. Judged over
the whole run this network learns: the plateau is a slow start, not a failure."""
import torch

LABEL = {
    "category": "confounder",
    "confounder": "a slow start from a small init that then learns (seed 000/001 2-layer)",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "with two layers the N(0, 1e-3) net escapes its saddle: loss flat for about the "
           "first third of the run, then down by orders of magnitude",
    "measured": {"loss_start": 0.246, "loss_end": 9.76e-05, "loss_max_window": 0.265},
}

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
for layer in model:
    if isinstance(layer, torch.nn.Linear):
        torch.nn.init.normal_(layer.weight, 0.0, 1e-3)
        torch.nn.init.normal_(layer.bias, 0.0, 1e-3)
opt = torch.optim.SGD(model.parameters(), lr=4e-3)
for i in range(3000):
    x = torch.rand(1, 1) * 2.0 - 1.0
    estimate = 2.0 * model(x)[0, 0]
    distance = ((x[0, 0] - estimate) ** 2).sum()
    opt.zero_grad()
    distance.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), 4.5)
    opt.step()
    if i % 250 == 0:
        print(i, distance.item())
