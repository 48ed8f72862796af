"""LSTM predicting the next value of noisy sine waves (regression)."""
import math

import torch
import torch.nn as nn

LABEL = {
    "category": "healthy",
    "architecture": "LSTM",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "LSTM(1->32) + linear head, MSE, Adam 1e-2: the next-step error falls toward the noise",
    "measured": {"loss_start": 0.0469, "loss_end": 0.00599, "max_update_over_w": 0.0183},
}

torch.manual_seed(4)


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 32, batch_first=True)
        self.linear = nn.Linear(32, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.linear(out[:, -1])


def make_batch(n=32, length=30):
    phase = torch.rand(n, 1) * 2 * math.pi
    freq = 0.2 + 0.3 * torch.rand(n, 1)
    t = torch.arange(length + 1).float()
    wave = torch.sin(phase + freq * t) + 0.05 * torch.randn(n, length + 1)
    return wave[:, :-1].unsqueeze(-1), wave[:, -1:]


model = Forecaster()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(400):
    x, y = make_batch()
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(f"{step}: mse {loss.item():.5f}")
