"""An autoencoder-style feature extractor whose features are .detach()ed before the head."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [{"kind": "no_gradient", "where": ["encoder.0.weight"], "step_max": 0}],
    "allowed": ["loss_not_decreasing"],  # measured: the loss stays nearly flat
    "root_cause": "no_gradient",
    "why": "features.detach() cuts the graph: the encoder's parameters never receive a gradient "
           "although they are in the optimizer",
    "measured": {"loss_start": 2.3, "loss_end": 2.27,
                 "never_grad": ["encoder.0.bias", "encoder.0.weight", "encoder.2.bias",
                                "encoder.2.weight"]},
}

torch.manual_seed(43)
d = load_digits()
X = torch.tensor(d.data / 16.0, dtype=torch.float32)
y = torch.tensor(d.target)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU())
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        features = self.encoder(x)
        return self.head(features.detach())  # was meant for a logging branch


model = Model()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(300):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
