"""A 3-layer stacked LSTM whose weights were initialized uniform(-0.01, 0.01)."""
import torch
import torch.nn as nn

LABEL = {
    "category": "positive",
    "architecture": "LSTM",
    "fast": False,
    "expected": [{"kind": "vanishing_gradient", "where": ["lstm.weight_hh_l0"], "step_max": 10}],
    "allowed": ["poor_initialization", "stalled_weights", "loss_not_decreasing"],
    "root_cause": None,
    "why": "with weights ~17x below PyTorch's default each LSTM layer passes on a small "
           "fraction of its input's scale: layer 0's recurrent weights get a |grad|/|weight| "
           "~1e-4 of the top layer's, and the loss barely moves",
    "measured": {"loss_start": 4.95, "loss_end": 4.62, "g_over_w_ih_l0": 0.00059,
                 "g_over_w_head": 0.0302},
}

torch.manual_seed(31)


class StackedLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 32, num_layers=3, batch_first=True)
        self.head = nn.Linear(32, 1)
        for name, p in self.lstm.named_parameters():
            nn.init.uniform_(p, -0.01, 0.01)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def batch(n=32, length=40):
    x = torch.randn(n, length, 4)
    return x, x[:, -5:, 0].sum(dim=1, keepdim=True)  # target: a sum over the last steps


model = StackedLSTM()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(400):
    x, y = batch()
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
