"""Zero to Mastery "PyTorch classification" notebook, model_0: CircleModelV0, nn.Linear(2, 5) then
nn.Linear(5, 1) with no non-linearity, BCEWithLogitsLoss, SGD 0.1, 100 full-batch epochs."""
LABEL = {
    "source": "https://github.com/mrdbourke/pytorch-deep-learning/blob/main/02_pytorch_classification.ipynb",
    "question": "The notebook's first circles model 'isn't learning anything': accuracy ~50%, "
                "loss 0.69.",
    "changes": ["the notebook's cells in one script, the model built after torch.manual_seed(42)",
                "cpu only; the print every 10 epochs kept, the plots dropped"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (linear only)",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights"],
    "root_cause": "loss_not_decreasing",
    "why": "two stacked linear layers are one linear map and the circles are not linearly "
           "separable: the loss stays at the best constant prediction's ln 2 for all 100 steps "
           "(end/best 1.000), accuracy ~50%, while every layer still moves (update ratios 1e-4 "
           "to 1e-2 per step)",
    "measured": {"loss_start": 0.695, "loss_end": 0.693, "best_constant": 0.693,
                 "end_over_best": 1.0, "update_over_w_layer_2": 0.00445},
}

import torch
from sklearn.datasets import make_circles
from sklearn.model_selection import train_test_split
from torch import nn

n_samples = 1000
X, y = make_circles(n_samples, noise=0.03, random_state=42)
X = torch.from_numpy(X).type(torch.float)
y = torch.from_numpy(y).type(torch.float)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)


class CircleModelV0(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer_1 = nn.Linear(in_features=2, out_features=5)
        self.layer_2 = nn.Linear(in_features=5, out_features=1)

    def forward(self, x):
        return self.layer_2(self.layer_1(x))


def accuracy_fn(y_true, y_pred):
    correct = torch.eq(y_true, y_pred).sum().item()
    return (correct / len(y_pred)) * 100


torch.manual_seed(42)
model_0 = CircleModelV0()
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model_0.parameters(), lr=0.1)

epochs = 100
for epoch in range(epochs):
    model_0.train()
    y_logits = model_0(X_train).squeeze()
    y_pred = torch.round(torch.sigmoid(y_logits))
    loss = loss_fn(y_logits, y_train)
    acc = accuracy_fn(y_true=y_train, y_pred=y_pred)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    model_0.eval()
    with torch.inference_mode():
        test_logits = model_0(X_test).squeeze()
        test_pred = torch.round(torch.sigmoid(test_logits))
        test_loss = loss_fn(test_logits, y_test)
        test_acc = accuracy_fn(y_true=y_test, y_pred=test_pred)
    if epoch % 10 == 0:
        print(f"Epoch: {epoch} | Loss: {loss:.5f}, Accuracy: {acc:.2f}% | "
              f"Test loss: {test_loss:.5f}, Test acc: {test_acc:.2f}%")
