"""A torch.compile'd MLP (backend "aot_eager", so no C compiler is needed)."""
import torch
import torch.nn as nn
from sklearn.datasets import make_moons

LABEL = {
    "category": "confounder",
    "confounder": "torch.compile'd models where hooks allow",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "the compiled graph hides module calls from forward hooks; the parameters and the "
           "optimizer are the usual ones and the loss falls",
    "measured": {"loss_start": 0.263, "loss_end": 0.000496},
}

torch.manual_seed(22)
X, y = make_moons(n_samples=1000, noise=0.1, random_state=22)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)

model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
compiled = torch.compile(model, backend="aot_eager")
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(300):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(compiled(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
