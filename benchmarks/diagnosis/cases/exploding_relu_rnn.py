"""A ReLU RNN with an orthogonal recurrent matrix scaled by 1.5 and no gradient clipping."""
import torch
import torch.nn as nn

LABEL = {
    "category": "positive",
    "architecture": "RNN",
    "fast": False,
    "expected": [{"kind": "exploding_gradient", "where": ["rnn.weight_hh_l0"]}],
    "allowed": ["loss_diverging", "nonfinite"],
    "root_cause": "exploding_gradient",
    "why": "a recurrent matrix with spectral radius 1.5 and ReLU multiplies the signal by ~1.5 "
           "per time step; SGD steps on the resulting gradients make it worse",
    "measured": {},
}

torch.manual_seed(33)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(2, 32, nonlinearity="relu", batch_first=True)
        self.fc = nn.Linear(32, 1)
        nn.init.orthogonal_(self.rnn.weight_hh_l0)
        with torch.no_grad():
            self.rnn.weight_hh_l0.mul_(1.5)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def batch(n=32, length=15):
    x = torch.rand(n, length, 2)
    return x, x[:, :, 0].mean(dim=1, keepdim=True)


model = Model()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
for step in range(300):
    x, y = batch()
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        print(step, loss.item())
