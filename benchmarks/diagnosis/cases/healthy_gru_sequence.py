"""GRU classifying whether a noisy sequence's sum is positive."""
import torch
import torch.nn as nn

LABEL = {
    "category": "healthy",
    "architecture": "GRU",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "one-layer GRU, length-20 sequences, Adam 3e-3: the sign of a sum is easy to learn",
    "measured": {"loss_start": 0.399, "loss_end": 0.0563, "max_update_over_w": 0.00575},
}

torch.manual_seed(3)


class SeqClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=1, hidden_size=32, batch_first=True)
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        out, h = self.gru(x)
        return self.head(h[-1])


def batch(n=64, length=20):
    x = torch.randn(n, length, 1)
    y = (x.sum(dim=(1, 2)) > 0).long()
    return x, y


model = SeqClassifier()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
crit = nn.CrossEntropyLoss()
for it in range(500):
    x, y = batch()
    loss = crit(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 100 == 0:
        print(it, round(loss.item(), 4))
