"""log(softmax(x)) by hand on unscaled inputs: softmax underflows to 0 and log gives -inf."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "nonfinite", "where": [], "step_max": 10}],
    "allowed": ["exploding_gradient", "loss_diverging"],
    "root_cause": "nonfinite",
    "why": "inputs x1000 make logit gaps of hundreds; nn.Softmax returns exact zeros, "
           "torch.log(0) = -inf, and the loss is inf from the first steps",
    "measured": {"loss_start": "inf", "loss_end": "nan", "first_nonfinite_loss_step": 0,
                 "logit_rms_step0": 278.0},
}

torch.manual_seed(36)
X, y = make_classification(n_samples=1000, n_features=10, n_classes=3, n_informative=6,
                           random_state=36)
X = torch.tensor(X * 1000, dtype=torch.float32)  # raw sensor units
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 3), nn.Softmax(dim=1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(200):
    idx = torch.randint(0, len(X), (64,))
    probs = model(X[idx])
    loss = -torch.log(probs[torch.arange(len(idx)), y[idx]]).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(step, loss.item())
