"""BatchNorm and LayerNorm parameters in one model (their gains start at 1 and biases at 0)."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

LABEL = {
    "category": "confounder",
    "confounder": "BatchNorm/LayerNorm parameters",
    "architecture": "BatchNorm",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "norm gains/biases are 1-d tensors initialized to 1/0 with their own gradient "
           "scale; Linear biases feed the norms; training is healthy",
    "measured": {"loss_start": 0.556, "loss_end": 0.149, "bn1_weight_g_over_w": 0.0122,
                 "fc1_bias_g_over_w": 9.07e-09},
}

torch.manual_seed(16)
X, y = make_classification(n_samples=2000, n_features=16, n_informative=8, n_classes=3,
                           random_state=16)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class NormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 64)
        self.bn1 = nn.BatchNorm1d(64)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(64, 64)
        self.ln2 = nn.LayerNorm(64)
        self.relu2 = nn.ReLU()
        self.out = nn.Linear(64, 3)

    def forward(self, x):
        x = self.relu1(self.bn1(self.fc1(x)))
        x = self.relu2(self.ln2(self.fc2(x)))
        return self.out(x)


model = NormNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for step in range(500):
    idx = torch.randint(0, len(X), (64,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(step, loss.item())
