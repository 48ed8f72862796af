"""CNN regression (a digit's ink mass) with SGD momentum 0.99, lr 0.05: the conv layer dies."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "CNN",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["0.weight"]}],
    "allowed": ["stalled_weights", "vanishing_gradient"],
    "root_cause": "dead_units",
    "why": "momentum 0.99 overshoots in the first steps and drives every conv channel's "
           "pre-activation negative for every pixel; the MSE still looks fine because the "
           "target barely varies and the linear layer's bias fits its mean",
    "measured": {"loss_start": 1.78, "loss_end": 0.137, "dead_step0_1": 0.0, "dead_end_1": 1.0,
                 "dead_on_all_1797_digits_after_training_1": 1.0},
}

torch.manual_seed(55)
d = load_digits()
X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
target = X.sum(dim=(1, 2, 3)).unsqueeze(1) / 10

model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.99)
for step in range(300):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.mse_loss(model(X[idx]), target[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        print(step, loss.item())
