"""Lightning-AI/pytorch-lightning examples/fabric/image_classifier/train_fabric.py: the PyTorch
MNIST CNN (2 conv, dropout, 2 linear, log_softmax + nll_loss), Adadelta(lr=1.0) with StepLR(0.7),
converted to Lightning Fabric; here run as `fabric run --accelerator cpu --devices 2 --strategy ddp`
would run it (2 DDP ranks on gloo)."""
LABEL = {
    "source": "https://github.com/Lightning-AI/pytorch-lightning/blob/master/examples/fabric/image_classifier/train_fabric.py",
    "question": "Lightning Fabric's image-classifier example on 2 DDP ranks: does it train?",
    "changes": ["Fabric() configured by the `fabric run` CLI -> Fabric(accelerator='cpu', devices=2, "
                "strategy='ddp') + fabric.launch() (what `fabric run --accelerator cpu --devices 2 "
                "--strategy ddp` does); torchmetrics Accuracy replaced by a plain argmax count",
                "_wild_data.mnist_like normalized with (0.1307, 0.3081) instead of the torchvision "
                "MNIST download (first 1536 digits train, the rest test)",
                "--epochs default 14 -> 2, train loader limited to 12 batches per rank per epoch "
                "(24 steps per rank)"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "CNN (Lightning Fabric DDP, 2 ranks)",
    "fast": False,
    "expected": [],
    "allowed": ["dead_units"],
    "root_cause": None,
    "why": "trains: nll 2.29 -> 0.50 in 24 steps per rank (best constant 2.30), test accuracy "
           "77%; every layer updates 1e-2..3e-1 of its norm per step (Adadelta lr 1.0); 37% of "
           "fc1's ReLU units silent over the last 20 steps, not harmful here",
    "measured": {"steps_per_rank": 24, "loss_start": 2.292, "loss_end": 0.502,
                 "best_constant": 2.299, "fc1_relu_zero_frac_last20": 0.367, "test_acc": 0.77},
}
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from lightning.fabric import Fabric, seed_everything
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import TensorDataset

from _wild_data import mnist_like


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def run(hparams):
    fabric = Fabric(accelerator="cpu", devices=2, strategy="ddp")
    fabric.launch()
    torch.set_num_threads(1)

    seed_everything(hparams.seed)  # instead of torch.manual_seed(...)

    images, labels = mnist_like()
    images = (torch.from_numpy(images)[:, None] - 0.1307) / 0.3081
    labels = torch.from_numpy(labels)
    train_dataset = TensorDataset(images[:1536], labels[:1536])
    test_dataset = TensorDataset(images[1536:], labels[1536:])

    train_loader = torch.utils.data.DataLoader(
        train_dataset,
        batch_size=hparams.batch_size,
    )
    test_loader = torch.utils.data.DataLoader(test_dataset, batch_size=hparams.batch_size)

    train_loader, test_loader = fabric.setup_dataloaders(train_loader, test_loader)

    model = Net()  # remove call to .to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=hparams.lr)

    model, optimizer = fabric.setup(model, optimizer)

    scheduler = StepLR(optimizer, step_size=1, gamma=hparams.gamma)

    # EPOCH LOOP
    for epoch in range(1, hparams.epochs + 1):
        # TRAINING LOOP
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            if batch_idx == 12:
                break
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            fabric.backward(loss)  # instead of loss.backward()

            optimizer.step()
            if (batch_idx == 0) or ((batch_idx + 1) % hparams.log_interval == 0):
                print(
                    f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}"
                    f" ({100.0 * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}"
                )
                if hparams.dry_run:
                    break

        scheduler.step()

        # TESTING LOOP
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                correct += (output.argmax(dim=1) == target).sum().item()
                if hparams.dry_run:
                    break

        test_loss = fabric.all_gather(test_loss).sum() / len(test_loader.dataset)
        correct = fabric.all_gather(correct).sum()
        print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: ({100 * correct / len(test_loader.dataset):.0f}%)\n")

        if hparams.dry_run:
            break


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Fabric MNIST Example")
    parser.add_argument(
        "--batch-size", type=int, default=64, metavar="N", help="input batch size for training (default: 64)"
    )
    parser.add_argument("--epochs", type=int, default=2, metavar="N", help="number of epochs to train (default: 14)")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR", help="learning rate (default: 1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M", help="Learning rate step gamma (default: 0.7)")
    parser.add_argument("--dry-run", action="store_true", default=False, help="quickly check a single pass")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default: 1)")
    parser.add_argument(
        "--log-interval",
        type=int,
        default=4,
        metavar="N",
        help="how many batches to wait before logging training status",
    )
    parser.add_argument("--save-model", action="store_true", default=False, help="For Saving the current Model")
    hparams = parser.parse_args()

    run(hparams)
