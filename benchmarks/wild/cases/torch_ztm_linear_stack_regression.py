"""Zero to Mastery "PyTorch classification" notebook, model_2: the circles model's three stacked
nn.Linear layers (1-10-10-1) fitted to the straight line y = 0.7x + 0.3 with L1Loss and SGD 0.1,
1,000 full-batch epochs (the notebook's check that the model can learn anything at all)."""
LABEL = {
    "source": "https://github.com/mrdbourke/pytorch-deep-learning/blob/main/02_pytorch_classification.ipynb",
    "question": "Can the linear-only model that fails on the circles fit a straight line?",
    "changes": ["the notebook's cells in one script; torch.manual_seed(42) before the model is "
                "built; cpu; the plots dropped"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "linear layers (regression)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "the linear layers fit the line: the L1 loss falls from 0.76 to 0.055 (0.40x the best"
           " constant prediction's) and then wobbles around it, as SGD 0.1 on an L1 loss does "
           "(its gradient does not shrink near the optimum)",
    "measured": {"loss_start": 0.082, "loss_end": 0.0553, "best_constant": 0.14,
                 "end_over_best": 0.395, "update_over_w_last_bias": 0.161},
}
import torch
from torch import nn

weight = 0.7
bias = 0.3
start = 0
end = 1
step = 0.01

X_regression = torch.arange(start, end, step).unsqueeze(dim=1)
y_regression = weight * X_regression + bias

train_split = int(0.8 * len(X_regression))
X_train_regression, y_train_regression = X_regression[:train_split], y_regression[:train_split]
X_test_regression, y_test_regression = X_regression[train_split:], y_regression[train_split:]

torch.manual_seed(42)
model_2 = nn.Sequential(
    nn.Linear(in_features=1, out_features=10),
    nn.Linear(in_features=10, out_features=10),
    nn.Linear(in_features=10, out_features=1)
)

loss_fn = nn.L1Loss()
optimizer = torch.optim.SGD(model_2.parameters(), lr=0.1)

torch.manual_seed(42)
epochs = 1000

for epoch in range(epochs):
    # 1. Forward pass
    y_pred = model_2(X_train_regression)

    # 2. Calculate loss
    loss = loss_fn(y_pred, y_train_regression)

    # 3. Optimizer zero grad
    optimizer.zero_grad()

    # 4. Loss backwards
    loss.backward()

    # 5. Optimizer step
    optimizer.step()

    ### Testing
    model_2.eval()
    with torch.inference_mode():
        test_pred = model_2(X_test_regression)
        test_loss = loss_fn(test_pred, y_test_regression)

    if epoch % 100 == 0:
        print(f"Epoch: {epoch} | Train loss: {loss:.5f}, Test loss: {test_loss:.5f}")
