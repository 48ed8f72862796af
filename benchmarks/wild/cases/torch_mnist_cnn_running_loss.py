"""Stack Overflow 71514447: a two-conv MNIST classifier (dropout, log_softmax output) trained with
CrossEntropyLoss and Adam's defaults, whose printed training loss grows every epoch because the
running loss is never reset (the training itself is fine)."""
LABEL = {
    "source": "https://stackoverflow.com/questions/71514447",
    "question": "Why does my training loss increase every epoch while the training accuracy "
                "increases too?",
    "changes": ["scikit-learn's digits resized to 28x28 (normalized with MNIST's mean and std) "
                "instead of the torchvision MNIST download; 2 epochs of 29 batches of 64",
                "the model the post calls Model 1 (the reproduction's Net); seeded; cpu",
                "reproduction: github.com/mehilshah/Bug_Reproducibility_DL_Bugs Bugs/039"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "CNN (dropout)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "the printed loss grows only because running_loss is never reset per epoch; the "
           "training itself is fine: the per-step loss falls from 2.15 to 0.25 (0.11x the best "
           "constant prediction's ln 10) in 58 Adam steps, update ratios 4e-3 to 6e-2",
    "measured": {"loss_start": 2.15, "loss_end": 0.25, "best_constant": 2.3,
                 "end_over_best": 0.109, "dead_fc1_end": 0.32},
}
import torch
import torch.nn as nn
import torch.optim as optim

from _data import digits_images

torch.manual_seed(0)
device = torch.device("cpu")


def train_model(model, optimizer, train_loader, num_epochs, criterion=nn.CrossEntropyLoss()):
    model.train()

    running_loss = 0
    correct = 0
    total = 0

    for epoch in range(num_epochs):
        for i, (x_train, y_train) in enumerate(train_loader):

            x_train = x_train.to(device)
            y_train = y_train.to(device)

            y_pred = model(x_train)
            loss = criterion(y_pred, y_train)

            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            running_loss += loss.item()

            _, predicted = y_pred.max(1)
            train_loss = running_loss / len(train_loader)

            total += y_train.size(0)
            correct += predicted.eq(y_train).sum().item()

        train_loss = running_loss / len(train_loader)
        train_accu = 100. * correct / total

        print('Train Loss: %.3f | Train Accuracy: %.3f' % (train_loss, train_accu))


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(64 * 12 * 12, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = nn.functional.relu(self.conv1(x))
        x = nn.functional.relu(self.conv2(x))
        x = nn.functional.max_pool2d(self.dropout1(x), 2)
        x = torch.flatten(x, 1)
        x = nn.functional.relu(self.fc1(self.dropout2(x)))
        x = self.fc2(x)
        return nn.functional.log_softmax(x, dim=1)


images, labels = digits_images(28)
images = (images - 0.1307) / 0.3081  # transforms.Normalize((0.1307,), (0.3081,))
train_dataset = torch.utils.data.TensorDataset(images, labels)
train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=64, shuffle=True)

model = Net()
optimizer = optim.Adam(model.parameters())

train_md = train_model(model, optimizer, train_loader, 2)
