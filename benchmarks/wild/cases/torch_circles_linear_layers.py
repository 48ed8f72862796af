"""Zero to Mastery "PyTorch classification" notebook, CircleModelV1: three stacked nn.Linear
layers with no non-linearity between them, trained on scikit-learn's make_circles."""
LABEL = {
    "source": "https://github.com/mrdbourke/pytorch-deep-learning/blob/main/02_pytorch_classification.ipynb",
    "question": "Why does a deeper model trained for longer still sit at 50% accuracy and a loss"
                " of 0.693 on the circles data?",
    "changes": ["the notebook's cells in one script, the model built after torch.manual_seed(42)",
                "cpu only; the print every 100 epochs kept, the plots dropped (as in the "
                "notebook the loop never calls .train() after its first .eval())"],
    "pair": "torch_circles_relu",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (linear only)",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights"],
    "root_cause": "loss_not_decreasing",
    "why": "a stack of linear layers is one linear map and the two circles are not linearly "
           "separable: the loss stays at the best constant prediction's (ln 2, the classes are "
           "balanced) for all 1,000 steps; the gradients shrink as the linear model settles on "
           "that constant",
    "measured": {"loss_start": 0.693, "loss_end": 0.693, "best_constant": 0.693,
                 "end_over_best": 1.0, "g_over_w_layer_3": 7.17e-05},
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


class CircleModelV1(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer_1 = nn.Linear(in_features=2, out_features=10)
        self.layer_2 = nn.Linear(in_features=10, out_features=10)
        self.layer_3 = nn.Linear(in_features=10, out_features=1)

    def forward(self, x):
        return self.layer_3(self.layer_2(self.layer_1(x)))


def accuracy_fn(y_true, y_pred):
    correct = torch.eq(y_true, y_pred).sum().item()
    return (correct / len(y_pred)) * 100


torch.manual_seed(42)
model_1 = CircleModelV1()
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model_1.parameters(), lr=0.1)

epochs = 1000
for epoch in range(epochs):
    y_logits = model_1(X_train).squeeze()
    y_pred = torch.round(torch.sigmoid(y_logits))
    loss = loss_fn(y_logits, y_train)
    acc = accuracy_fn(y_true=y_train, y_pred=y_pred)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    model_1.eval()
    with torch.inference_mode():
        test_logits = model_1(X_test).squeeze()
        test_pred = torch.round(torch.sigmoid(test_logits))
        test_loss = loss_fn(test_logits, y_test)
        test_acc = accuracy_fn(y_true=y_test, y_pred=test_pred)
    if epoch % 100 == 0:
        print(f"Epoch: {epoch} | Loss: {loss:.5f}, Accuracy: {acc:.2f}% | "
              f"Test loss: {test_loss:.5f}, Test acc: {test_acc:.2f}%")
