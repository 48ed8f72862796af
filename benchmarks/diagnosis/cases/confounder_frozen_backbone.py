"""Fine-tuning a head on a frozen feature extractor (requires_grad=False on purpose)."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

LABEL = {
    "category": "confounder",
    "confounder": "parameters frozen on purpose (requires_grad=False)",
    "architecture": "CNN",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "the conv backbone is frozen deliberately and left out of the optimizer; only the "
           "linear head trains, and the loss falls",
    "measured": {"loss_start": 2.21, "loss_end": 1.09,
                 "params_with_grad": ['head.bias', 'head.weight']},
}

torch.manual_seed(14)
d = load_digits()
X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(d.target)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Linear(32 * 4, 10)

    def forward(self, x):
        return self.head(self.backbone(x))


model = Classifier()
for p in model.backbone.parameters():  # "pretrained" features: keep them fixed
    p.requires_grad = False
optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
for step in range(400):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
