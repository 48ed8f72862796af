"""Zero to Mastery "PyTorch classification" notebook, CircleModelV2: three stacked nn.Linear
layers with no non-linearity between them, trained on scikit-learn's make_circles."""
LABEL = {
    "source": "https://github.com/mrdbourke/pytorch-deep-learning/blob/main/02_pytorch_classification.ipynb",
    "question": "Adding non-linearity (ReLU) to the circles model that stayed at 50% accuracy: "
                "does it learn now?",
    "changes": ["the notebook's cells in one script, the model built after torch.manual_seed(42)",
                "cpu only; the print every 100 epochs kept, the plots dropped (as in the "
                "notebook the loop never calls .train() after its first .eval())"],
    "pair": "torch_circles_linear_layers",
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (ReLU)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "the fix learns: the loss falls to 0.87x the best constant prediction's ln 2 in 1,000"
           " full-batch steps at SGD 0.1, slowly but steadily; 6 of layer_2's 10 ReLUs are "
           "silent at initialization and 2 still are at the end (3 of layer_1's), a minority of "
           "a small layer, not a broken one",
    "measured": {"loss_start": 0.692,
                 "loss_end": 0.601,
                 "best_constant": 0.693,
                 "end_over_best": 0.866,
                 "dead_layer_2_step0": 0.6,
                 "dead_layer_2_end": 0.2,
                 "dead_layer_1_end": 0.3},
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


class CircleModelV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer_1 = nn.Linear(in_features=2, out_features=10)
        self.layer_2 = nn.Linear(in_features=10, out_features=10)
        self.layer_3 = nn.Linear(in_features=10, out_features=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.layer_3(self.relu(self.layer_2(self.relu(self.layer_1(x)))))


def accuracy_fn(y_true, y_pred):
    correct = torch.eq(y_true, y_pred).sum().item()
    return (correct / len(y_pred)) * 100


torch.manual_seed(42)
model_3 = CircleModelV2()
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model_3.parameters(), lr=0.1)

epochs = 1000
for epoch in range(epochs):
    y_logits = model_3(X_train).squeeze()
    y_pred = torch.round(torch.sigmoid(y_logits))
    loss = loss_fn(y_logits, y_train)
    acc = accuracy_fn(y_true=y_train, y_pred=y_pred)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    model_3.eval()
    with torch.inference_mode():
        test_logits = model_3(X_test).squeeze()
        test_pred = torch.round(torch.sigmoid(test_logits))
        test_loss = loss_fn(test_logits, y_test)
        test_acc = accuracy_fn(y_true=y_test, y_pred=test_pred)
    if epoch % 100 == 0:
        print(f"Epoch: {epoch} | Loss: {loss:.5f}, Accuracy: {acc:.2f}% | "
              f"Test loss: {test_loss:.5f}, Test acc: {test_acc:.2f}%")
