"""Labels generated independently of the inputs (a data-pipeline bug): nothing to learn."""
import torch
import torch.nn as nn

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "root_cause": "loss_not_decreasing",
    "why": "fresh inputs every step with labels drawn independently of them: the best possible "
           "loss is ln(3) and the network's gradients, updates and units are all healthy; only "
           "the loss says something is wrong (the data, not the network)",
    "measured": {"loss_start": 1.1, "loss_end": 1.1, "ln3": 1.1, "dead_end_1": 0.0,
                 "update_over_w_0.weight": 0.00124},
}

torch.manual_seed(52)
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(600):
    x = torch.randn(128, 10)
    y = torch.randint(0, 3, (128,))  # bug: should be the labels that belong to x
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
