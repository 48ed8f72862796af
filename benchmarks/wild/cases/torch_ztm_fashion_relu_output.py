"""Zero to Mastery "PyTorch computer vision" notebook, FashionMNISTModelV1: Flatten,
Linear(784, 10), ReLU, Linear(10, 10), ReLU, so the logits themselves go through a ReLU;
CrossEntropyLoss, SGD 0.1, batch 32, 3 epochs (the notebook's model_1, which ends below the
linear model_0)."""
LABEL = {
    "source": "https://github.com/mrdbourke/pytorch-deep-learning/blob/main/03_pytorch_computer_vision.ipynb",
    "question": "Why does the model with non-linearities (model_1) do worse than the purely "
                "linear baseline (model_0) on FashionMNIST?",
    "changes": ["scikit-learn's digits resized to 28x28 in [0, 1] (1,497 train / 300 test) "
                "instead of the torchvision FashionMNIST download",
                "the notebook's cells in one script: accuracy_fn from helper_functions.py "
                "inlined, tqdm and the timer dropped; cpu"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (ReLU on the logits)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "a ReLU on the logits is an odd design, but this run trains: the loss falls to 0.91, "
           "0.40x the best constant prediction's ln 10; 2 of the 10 output ReLUs are silent at "
           "step 0 and none at the end, 2 of the 10 hidden ones at the end",
    "measured": {"loss_start": 2.26, "loss_end": 0.911, "best_constant": 2.3,
                 "end_over_best": 0.396, "dead_output_step0": 0.2, "dead_output_end": 0.0,
                 "dead_hidden_end": 0.2},
}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from _data import digits_images

device = "cpu"
images, labels = digits_images(28)
train_data = TensorDataset(images[:1497], labels[:1497])
test_data = TensorDataset(images[1497:], labels[1497:])

BATCH_SIZE = 32
torch.manual_seed(42)
train_dataloader = DataLoader(train_data, batch_size=BATCH_SIZE, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=BATCH_SIZE, shuffle=False)


def accuracy_fn(y_true, y_pred):
    correct = torch.eq(y_true, y_pred).sum().item()
    acc = (correct / len(y_pred)) * 100
    return acc


class FashionMNISTModelV1(nn.Module):
    def __init__(self, input_shape: int, hidden_units: int, output_shape: int):
        super().__init__()
        self.layer_stack = nn.Sequential(
            nn.Flatten(),  # flatten inputs into single vector
            nn.Linear(in_features=input_shape, out_features=hidden_units),
            nn.ReLU(),
            nn.Linear(in_features=hidden_units, out_features=output_shape),
            nn.ReLU()
        )

    def forward(self, x: torch.Tensor):
        return self.layer_stack(x)


torch.manual_seed(42)
model_1 = FashionMNISTModelV1(input_shape=784, hidden_units=10, output_shape=10).to(device)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(params=model_1.parameters(), lr=0.1)


def train_step(model, data_loader, loss_fn, optimizer, accuracy_fn, device=device):
    train_loss, train_acc = 0, 0
    model.to(device)
    for batch, (X, y) in enumerate(data_loader):
        X, y = X.to(device), y.to(device)

        # 1. Forward pass
        y_pred = model(X)

        # 2. Calculate loss
        loss = loss_fn(y_pred, y)
        train_loss += loss
        train_acc += accuracy_fn(y_true=y, y_pred=y_pred.argmax(dim=1))

        # 3. Optimizer zero grad
        optimizer.zero_grad()

        # 4. Loss backward
        loss.backward()

        # 5. Optimizer step
        optimizer.step()

    train_loss /= len(data_loader)
    train_acc /= len(data_loader)
    print(f"Train loss: {train_loss:.5f} | Train accuracy: {train_acc:.2f}%")


def test_step(data_loader, model, loss_fn, accuracy_fn, device=device):
    test_loss, test_acc = 0, 0
    model.to(device)
    model.eval()  # put model in eval mode
    with torch.inference_mode():
        for X, y in data_loader:
            X, y = X.to(device), y.to(device)
            test_pred = model(X)
            test_loss += loss_fn(test_pred, y)
            test_acc += accuracy_fn(y_true=y, y_pred=test_pred.argmax(dim=1))
        test_loss /= len(data_loader)
        test_acc /= len(data_loader)
        print(f"Test loss: {test_loss:.5f} | Test accuracy: {test_acc:.2f}%\n")


torch.manual_seed(42)
epochs = 3
for epoch in range(epochs):
    print(f"Epoch: {epoch}\n---------")
    train_step(data_loader=train_dataloader, model=model_1, loss_fn=loss_fn,
               optimizer=optimizer, accuracy_fn=accuracy_fn)
    test_step(data_loader=test_dataloader, model=model_1, loss_fn=loss_fn,
              accuracy_fn=accuracy_fn)
