"""brennancheung/CourseAI, notebook 2-2-3 "Debugging and Visualization", Exercise 5 (learning rate
comparison): the course's MNIST MLP (Flatten -> Linear(784, 128) -> ReLU -> Linear(128, 64) ->
ReLU -> Linear(64, 10)) trained with CrossEntropyLoss and Adam at lr 0.001, the run the notebook
calls too low ("works but wastes compute"), batches of 64 of normalized MNIST, 10 epochs."""
LABEL = {
    "source": "https://github.com/brennancheung/CourseAI/blob/main/notebooks/2-2-3-debugging-and-visualization.ipynb",
    "question": "The exercise trains three runs at lr 0.001, 0.01 and 0.1 and asks which is too "
                "high, too low and just right: what does the lr=0.001 run do?",
    "changes": ["_wild_data.mnist_like (scikit-learn digits blown up to 28x28) normalized with "
                "MNIST's (0.1307, 0.3081) as the notebook's transform does, instead of the "
                "torchvision MNIST download; 10 epochs of 29 batches (290 steps) instead of 10 "
                "epochs of 938",
                "the loop over learning_rates reduced to its lr=0.001 run; TensorBoard "
                "SummaryWriter and the per-epoch test accuracy dropped (no test set); "
                "torch.manual_seed(42) kept; cpu; a train-set accuracy print added at the end"],
    "pair": "torch_courseai_mlp_adam_lr01",
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (ReLU)",
    "fast": False,
    "expected": [],
    "allowed": ["dead_units"],
    "root_cause": None,
    "why": "the rate the notebook calls too low trains well here: the cross-entropy falls from "
           "2.32 at the first step to 0.030 over the last 10% of 290 steps (end/best 0.013 "
           "against the best constant prediction's 2.30), 99.7% train accuracy; Adam moves "
           "every tensor 0.15-0.65% of its norm per step, no NaN, no spike. 24 of fc1's 128 "
           "ReLU units (18.8%) and 5 of fc2's 64 (7.8%) end silent for every input (over the "
           "last 20 steps and, checked once by hand, over all 1,797 images): true of the run, "
           "hence allowed, but the other units fit the data",
    "measured": {"loss_start": 0.976, "loss_end": 0.03, "loss_first": 2.32, "best_constant": 2.3,
                 "end_over_best": 0.013, "fc1_out_silent_last20": 0.188,
                 "fc2_out_silent_last20": 0.0781, "update_over_w_min": 0.0015,
                 "update_over_w_max": 0.0065, "steps": 290},
}
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

from _wild_data import mnist_like

# Reproducibility
torch.manual_seed(42)
device = torch.device('cpu')

images_np, labels_np = mnist_like()
images = (torch.from_numpy(images_np).unsqueeze(1) - 0.1307) / 0.3081
labels = torch.from_numpy(labels_np)


def train_loader_epoch(epoch, batch_size=64):
    g = torch.Generator().manual_seed(epoch)
    order = torch.randperm(len(images), generator=g)
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        yield images[idx], labels[idx]


class MNISTClassifier(nn.Module):
    """The same MNIST model from your MNIST Project.

    Architecture:
        Flatten (784) -> Linear(784, 128) -> ReLU
        -> Linear(128, 64) -> ReLU -> Linear(64, 10)
    """
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        x = self.fc3(x)
        return x


learning_rates = [0.001]
num_epochs = 10

for lr in learning_rates:
    print(f'Training with lr={lr}')
    lr_model = MNISTClassifier().to(device)
    optimizer = optim.Adam(lr_model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()

    for epoch in range(num_epochs):
        lr_model.train()
        running_loss = 0.0
        n_batches = 0

        for images_b, labels_b in train_loader_epoch(epoch):
            images_b, labels_b = images_b.to(device), labels_b.to(device)

            optimizer.zero_grad()
            outputs = lr_model(images_b)
            loss = criterion(outputs, labels_b)
            loss.backward()
            optimizer.step()

            running_loss += loss.item()
            n_batches += 1

        avg_loss = running_loss / n_batches
        print(f'  Epoch {epoch+1:2d}/{num_epochs}  Loss: {avg_loss:.4f}')

with torch.no_grad():
    acc = (lr_model(images).argmax(1) == labels).float().mean().item()
print('train accuracy', acc)
