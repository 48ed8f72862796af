"""sotte/pytorch_tutorial issue 5: ``loss.backward(loss)`` in a linear regression.

The tutorial's notebook trains a one-feature linear regression (``make_regression`` with noise
10, ``nn.Linear(1, 1)``, SGD at 0.001, ``MSELoss``) and called ``loss.backward(loss)``: the
argument is the gradient of the output, so every gradient is multiplied by the loss (~2e3 at
the start). The first step overshoots, the loss grows by orders of magnitude per step and the
numbers are NaN from the fourth step. The notebook cell (one train step) is re-run by hand;
here it runs 60 times in a loop.
"""
import torch
from sklearn.datasets import make_regression
from torch import nn, optim

LABEL = {
    "framework": "torch",
    "source": "https://github.com/sotte/pytorch_tutorial/issues/5",
    "question": "Why does the tutorial's linear regression call loss.backward(loss)?",
    "changes": ["the notebook's train-step cell run 60 times in a loop (it is re-run by hand "
                "there); torch.manual_seed(0) and make_regression(random_state=0)"],
    "pair": "torch_sotte_backward_loss_fixed",
    "category": "positive",
    "architecture": "linear regression",
    "fast": False,
    "expected": [{"kind": "exploding_gradient", "where": ["beta.weight"], "step_max": 4},
                 {"kind": "nonfinite", "where": [], "step_max": 5}],
    "allowed": ["loss_diverging"],
    "root_cause": "exploding_gradient",
    "why": "every gradient is the true one times the loss (~2e3): |g|/|w| ~1e3, the loss goes 1961 -> 2.9e16 in three steps, the gradients grow ~2e18x and are NaN from step 4 on both parameters",
    "measured": {"loss_start": 18900000.0, "loss_end": "nan", "loss_first": 1960.0,
                 "best_constant_loss": 1960.0, "first_nonfinite_loss_step": 4,
                 "first_nonfinite_grad_step": 4, "grad_growth": 2.26e+18},
}

torch.manual_seed(0)
n_features = 1
n_samples = 100
X, y = make_regression(n_samples=n_samples, n_features=n_features, noise=10, random_state=0)
X = torch.from_numpy(X).float()
y = torch.from_numpy(y.reshape((n_samples, n_features))).float()


class LinReg(nn.Module):
    def __init__(self, input_dim):
        super().__init__()
        self.beta = nn.Linear(input_dim, 1)

    def forward(self, X):
        return self.beta(X)


device = torch.device("cpu")
model = LinReg(n_features).to(device)
optimizer = optim.SGD(model.parameters(), lr=0.001)
criterion = nn.MSELoss()
X, y = X.to(device), y.to(device)

for it in range(60):
    # Train step
    model.train()
    optimizer.zero_grad()
    y_ = model(X)
    loss = criterion(y_, y)
    loss.backward(loss)
    optimizer.step()
    # Eval
    model.eval()
    with torch.no_grad():
        y_ = model(X)
    print(f"{it} MSE: {loss.item():0.1f}")
