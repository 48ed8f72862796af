"""PyTorch tutorial "What is torch.nn really?": the Mnist_CNN of three stride-2 convolutions with
F.relu and F.avg_pool2d, trained by the tutorial's fit()/loss_batch() with SGD 0.1 momentum 0.9."""
LABEL = {
    "source": "https://github.com/pytorch/tutorials/blob/main/beginner_source/nn_tutorial.py",
    "question": "The tutorial's switch to a CNN: three convolutions with functional ReLUs on "
                "MNIST.",
    "changes": ["scikit-learn's digits resized to 28x28 in [0, 1] and flattened to 784 like the "
                "tutorial's pickled MNIST (1,497 train / 300 validation) instead of the download",
                "8 epochs of 24 batches instead of 2 of 782 (the digits need ~100 steps to leave"
                " the starting plateau)",
                "torch.manual_seed(0); the tutorial's earlier sections (logistic regression) "
                "dropped"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "CNN (functional ReLU)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "after a plateau of ~100 steps at the best constant prediction's ln 10 (gradients of "
           "conv1 grow 100x as it leaves it) the CNN learns: the loss ends at 1.16, half the "
           "reference; 7 of conv1's 16 channels are silent all run (a minority)",
    "measured": {"loss_start": 2.3, "loss_end": 1.16, "best_constant": 2.3,
                 "end_over_best": 0.503, "dead_conv1_end": 0.438, "grad_growth_conv1": 98.6},
}
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

from _data import digits_images

torch.manual_seed(0)
images, labels = digits_images(28)
x = images.reshape(-1, 784)
x_train, y_train, x_valid, y_valid = x[:1497], labels[:1497], x[1497:], labels[1497:]

bs = 64  # batch size
epochs = 8  # how many epochs to train for
loss_func = F.cross_entropy

train_ds = TensorDataset(x_train, y_train)
valid_ds = TensorDataset(x_valid, y_valid)


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)

        model.eval()
        with torch.no_grad():
            losses, nums = zip(
                *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl]
            )
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)

        print(epoch, val_loss)


def get_data(train_ds, valid_ds, bs):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=True),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


class Mnist_CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, xb):
        xb = xb.view(-1, 1, 28, 28)
        xb = F.relu(self.conv1(xb))
        xb = F.relu(self.conv2(xb))
        xb = F.relu(self.conv3(xb))
        xb = F.avg_pool2d(xb, 4)
        return xb.view(-1, xb.size(1))


lr = 0.1
train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
model = Mnist_CNN()
opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

fit(epochs, model, loss_func, opt, train_dl, valid_dl)
