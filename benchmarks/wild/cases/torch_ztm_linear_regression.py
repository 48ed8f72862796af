"""Zero to Mastery "PyTorch workflow" notebook: a linear regression model of two nn.Parameters
(weights * x + bias) fitted to y = 0.7x + 0.3 with L1Loss and SGD 0.01 for 100 epochs."""
LABEL = {
    "source": "https://github.com/mrdbourke/pytorch-deep-learning/blob/main/01_pytorch_workflow.ipynb",
    "question": "The course's first training loop: learn weight 0.7 and bias 0.3 from 40 points.",
    "changes": ["the notebook's cells in one script; the plots dropped"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "linear (nn.Parameter)",
    "fast": True,
    "expected": [],
    "root_cause": None,
    "why": "the two parameters approach 0.7 and 0.3 (0.58 and 0.35 after 100 steps): the L1 loss"
           " falls from 0.31 to 0.027, 0.19x the best constant prediction's (the targets' mean "
           "absolute deviation from their median)",
    "measured": {"loss_start": 0.267, "loss_end": 0.0265, "best_constant": 0.14,
                 "end_over_best": 0.189, "update_over_w_weights": 0.0104},
}
import torch
from torch import nn

weight = 0.7
bias = 0.3

start = 0
end = 1
step = 0.02
X = torch.arange(start, end, step).unsqueeze(dim=1)
y = weight * X + bias

train_split = int(0.8 * len(X))
X_train, y_train = X[:train_split], y[:train_split]
X_test, y_test = X[train_split:], y[train_split:]


class LinearRegressionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1, dtype=torch.float), requires_grad=True)
        self.bias = nn.Parameter(torch.randn(1, dtype=torch.float), requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weights * x + self.bias


torch.manual_seed(42)
model_0 = LinearRegressionModel()

loss_fn = nn.L1Loss()
optimizer = torch.optim.SGD(params=model_0.parameters(), lr=0.01)

torch.manual_seed(42)
epochs = 100

train_loss_values = []
test_loss_values = []
epoch_count = []

for epoch in range(epochs):
    model_0.train()
    y_pred = model_0(X_train)
    loss = loss_fn(y_pred, y_train)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    model_0.eval()
    with torch.inference_mode():
        test_pred = model_0(X_test)
        test_loss = loss_fn(test_pred, y_test.type(torch.float))
        if epoch % 10 == 0:
            epoch_count.append(epoch)
            train_loss_values.append(loss.detach().numpy())
            test_loss_values.append(test_loss.detach().numpy())
            print(f"Epoch: {epoch} | MAE Train Loss: {loss} | MAE Test Loss: {test_loss} ")

print(model_0.state_dict())
