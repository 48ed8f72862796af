"""Mixed precision (float16 autocast) with a GradScaler that starts at a huge scale.

The first steps overflow: the scaler finds inf gradients, skips optimizer.step and halves the
scale until the scaled gradients fit. That is loss scaling working as designed."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "confounder",
    "confounder": "mixed precision with GradScaler (inf gradients on skipped steps)",
    "architecture": "MLP",
    "fast": True,
    "expected": [],
    "root_cause": None,
    "why": "init_scale 2**40 makes the scaled float16 gradients inf; the scaler skips those "
           "steps and backs off, then training proceeds normally",
    "measured": {"scaled_loss_start": 1470000.0, "scaled_loss_end": 23000.0,
                 "loss_step0": 0.698, "loss_step100": 0.261, "max_update_over_w": 0.00711,
                 "optimizer_steps": 377, "skipped_steps": 23},
}

torch.manual_seed(11)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, random_state=11)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                      nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 40)
skipped = 0
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    with torch.autocast("cpu", dtype=torch.float16):
        loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    scaler.scale(loss).backward()
    scale_before = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    skipped += scaler.get_scale() < scale_before
    if step % 50 == 0:
        print(step, loss.item(), "scale", scaler.get_scale(), "skipped so far", skipped)
