"""brennancheung/CourseAI, notebook 2-2-3 "Debugging and Visualization", Exercise 5 (learning rate
comparison): the course's MNIST MLP (Flatten -> Linear(784, 128) -> ReLU -> Linear(128, 64) ->
ReLU -> Linear(64, 10)) trained with CrossEntropyLoss and Adam at lr 0.1, the run the notebook
offers as the rate that is too high, batches of 64 of normalized MNIST, 10 epochs."""
LABEL = {
    "source": "https://github.com/brennancheung/CourseAI/blob/main/notebooks/2-2-3-debugging-and-visualization.ipynb",
    "question": "The exercise trains three runs at lr 0.001, 0.01 and 0.1 and asks which is too "
                "high, too low and just right: what does the lr=0.1 run do?",
    "changes": ["_wild_data.mnist_like (scikit-learn digits blown up to 28x28) normalized with "
                "MNIST's (0.1307, 0.3081) as the notebook's transform does, instead of the "
                "torchvision MNIST download; 10 epochs of 29 batches (290 steps) instead of 10 "
                "epochs of 938",
                "the loop over learning_rates reduced to its lr=0.1 run; TensorBoard "
                "SummaryWriter and the per-epoch test accuracy dropped (no test set); "
                "torch.manual_seed(42) kept; cpu; a train-set accuracy print added at the end"],
    "pair": "torch_courseai_mlp_adam_lr001",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (ReLU)",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["fc1.weight", "fc2.weight"]}],
    "allowed": ["loss_not_decreasing", "loss_spike", "vanishing_gradient", "stalled_weights"],
    "root_cause": "dead_units",
    "why": "Adam at 0.1 moves every weight by up to 0.1 a step: fc1's pre-activations blow up "
           "(rms 0.66 at step 0, 291 at the end), the first epoch's losses spike (the notebook's "
           "epoch-1 mean loss is 17.6, the largest single loss 255) and both ReLU layers "
           "die: fc1's 128 outputs are zero for every input of a whole batch from step 10, and "
           "over the last 20 steps all 128 fc1 outputs and all 64 fc2 outputs are zero for every "
           "input (after training, for every one of the 1,797 images, checked once by hand). "
           "Nothing reaches fc1 or fc2 any more (|g|/|w| ~1e-16), only fc3's bias learns: the "
           "loss sits at 2.31 over the last 10% of the 290 steps, the best constant prediction's "
           "2.30 (end/best 1.004), 10% train accuracy. The pair's lr=0.001 run of the same "
           "notebook cell falls to 0.030",
    "measured": {"loss_start": 2.32, "loss_end": 2.31, "loss_first": 2.32, "loss_max": 255.0,
                 "min_window": 2.06, "best_constant": 2.3, "end_over_best": 1.0,
                 "fc1_out_silent_last20": 1.0, "fc2_out_silent_last20": 1.0,
                 "fc1_preact_rms_end": 291.0, "fc1_w_g_over_w": 9.08e-17, "steps": 290},
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


learning_rates = [0.1]
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
