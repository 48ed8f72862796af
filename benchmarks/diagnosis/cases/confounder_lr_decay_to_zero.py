"""Cosine learning-rate schedule that decays to exactly 0 at the end of training."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "confounder",
    "confounder": "learning-rate schedules that decay to ~0 at the end",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "CosineAnnealingLR to eta_min 0 over the run: the last ~10% of steps move the "
           "weights by almost nothing by design, after the loss has come down",
    "measured": {"loss_start": 0.659, "loss_end": 0.0609},
}

torch.manual_seed(24)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=12, n_classes=4,
                           random_state=24)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(20, 128), nn.ReLU(), nn.Linear(128, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
STEPS = 600
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS, eta_min=0.0)
for step in range(STEPS):
    idx = torch.randint(0, len(X), (128,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % 100 == 0:
        print(step, loss.item(), scheduler.get_last_lr()[0])
