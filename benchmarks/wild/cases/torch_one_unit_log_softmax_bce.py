"""Stack Overflow 71457035: a 22-10-1 binary classifier whose single output goes through
F.log_softmax(dim=1) and then nn.BCELoss, trained full-batch with SGD 0.003."""
LABEL = {
    "source": "https://stackoverflow.com/questions/71457035",
    "question": "PyTorch NN not training: the training loss prints the same value every epoch.",
    "changes": ["make_classification (5,000 x 22, two classes) split 4,000/1,000 instead of the "
                "poster's X_train/X_test arrays; the y reshape made to use y itself",
                "500 epochs instead of 2,000; seeded",
                "reproduction: github.com/mehilshah/Bug_Reproducibility_DL_Bugs Bugs/042"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [{"kind": "no_gradient", "where": ["fc2.weight", "fc1.weight"], "step_max": 0},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights", "vanishing_gradient"],
    "root_cause": "no_gradient",
    "why": "log_softmax over a single output unit is identically 0, so BCELoss sees a "
           "probability of 0 for every sample (its log clamped at -100): the loss is a constant "
           "100 x the positive fraction, 72x the best constant prediction's, and every gradient "
           "is exactly zero",
    "measured": {"loss_start": 49.8, "loss_end": 49.8, "best_constant": 0.693,
                 "end_over_best": 71.8, "grad_max_any": 0.0},
}

import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from torch import nn, optim

torch.manual_seed(0)
X, y = make_classification(n_samples=5000, n_features=22, n_informative=8, random_state=0)
X_train, X_test, y_train, y_test = X[:4000], X[4000:], y[:4000], y[4000:]

X_train_t = torch.tensor(X_train).float()
X_test_t = torch.tensor(X_test).float()
y_train_t = torch.tensor(y_train).long().reshape(y_train.shape[0], 1)
y_test_t = torch.tensor(y_test).long().reshape(y_test.shape[0], 1)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(22, 10)
        self.fc2 = nn.Linear(10, 1)

    def forward(self, x):
        # make sure input tensor is flattened
        x = x.view(x.shape[0], -1)

        x = F.relu(self.fc1(x))
        x = F.log_softmax(self.fc2(x), dim=1)

        return x


model = Classifier()
criterion = nn.BCELoss()
optimizer = optim.SGD(model.parameters(), lr=0.003)

epochs = 500
steps = 0

train_losses, test_losses = [], []
for e in range(epochs):
    # training loss
    optimizer.zero_grad()

    log_ps = model(X_train_t)
    loss = criterion(log_ps, y_train_t.type(torch.float32))
    loss.backward()
    optimizer.step()
    train_loss = loss.item()

    # test loss
    # Turn off gradients for validation, saves memory and computations
    with torch.no_grad():
        log_ps = model(X_test_t)
        test_loss = criterion(log_ps, y_test_t.to(torch.float32))
        ps = torch.exp(log_ps)

    train_losses.append(train_loss / len(X_train_t))
    test_losses.append(test_loss / len(X_test_t))

    if (e % 100 == 0):
        print("Epoch: {}/{}.. ".format(e, epochs),
              "Training Loss: {:.3f}.. ".format(train_loss / len(X_train_t)),
              "Test Loss: {:.3f}.. ".format(test_loss / len(X_test_t)))
