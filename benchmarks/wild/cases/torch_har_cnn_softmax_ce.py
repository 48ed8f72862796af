"""jindongwang/Deep-learning-activity-recognition, pytorch/: a CNN for UCI HAR whose forward ends
in F.softmax, trained with nn.CrossEntropyLoss (issue 10: "you apply softmax and then
nn.CrossEntropyLoss, that is a mistake"). SGD 0.01, momentum 0.9, batches of 64."""
LABEL = {
    "framework": "torch",
    "source": "https://github.com/jindongwang/Deep-learning-activity-recognition/issues/10",
    "question": "The HAR CNN applies F.softmax before nn.CrossEntropyLoss (double softmax); does "
                "it still learn?",
    "changes": ["UCI HAR (data_har.npy, 9 streams x 128 samples, 6 classes) replaced by seeded "
                "synthetic windows of the same shape and range (_har_data.har_like), 1536 "
                "training windows", "4 epochs instead of 80; no test loop, no plot, no result.csv;"
                " cpu; tqdm.write -> print"],
    "pair": None,
    "architecture": "CNN",
    "fast": False,
    "category": 'confounder',
    "expected": [],
    "allowed": ['loss_not_decreasing'],
    "root_cause": None,
    "why": 'the double softmax bounds each logit in [0, 1], so CE cannot go below log(1+5/e)=1.05 and its gradient is damped; the loss sits at the best constant (1.791) for ~5 epochs, then falls to 1.20 (end/best 0.67) and train accuracy reaches 100% in 10 epochs: the bug slows training but does not stop it',
    "measured": {'loss_start': 1.79, 'loss_end': 1.2, 'best_constant': 1.791, 'loss_end_over_best_constant': 0.6715, 'fc3_bias_g_over_w_med': 0.324, 'steps': 240},
}
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

from _har_data import har_like

BATCH_SIZE = 64
N_EPOCH = 10
LEARNING_RATE = 0.01
DEVICE = torch.device('cpu')


class Network(nn.Module):
    def __init__(self):
        super(Network, self).__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels=9, out_channels=32, kernel_size=(1, 9)),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=(1, 2), stride=2)
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(in_channels=32, out_channels=64, kernel_size=(1, 9)),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=(1, 2), stride=2)
        )
        self.fc1 = nn.Sequential(nn.Linear(in_features=64 * 26, out_features=1000), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(in_features=1000, out_features=500), nn.ReLU())
        self.fc3 = nn.Sequential(nn.Linear(in_features=500, out_features=6))

    def forward(self, x):
        out = self.conv1(x)
        out = self.conv2(out)
        out = out.reshape(-1, 64 * 26)
        out = self.fc1(out)
        out = self.fc2(out)
        out = self.fc3(out)
        out = F.softmax(out, dim=1)
        return out


def train(model, optimizer, train_loader):
    n_batch = len(train_loader.dataset) // BATCH_SIZE
    criterion = nn.CrossEntropyLoss()
    for e in range(N_EPOCH):
        model.train()
        correct, total_loss = 0, 0
        for index, (sample, target) in enumerate(train_loader):
            sample, target = sample.to(DEVICE).float(), target.to(DEVICE).long()
            sample = sample.view(-1, 9, 1, 128)
            output = model(sample)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            _, predicted = torch.max(output.data, 1)
            correct += (predicted == target).sum()
        print('Epoch: [{}/{}], loss: {:.4f}, train acc: {:.2f}%'.format(
            e + 1, N_EPOCH, total_loss / n_batch, float(correct) * 100.0 / (BATCH_SIZE * n_batch)))


if __name__ == '__main__':
    torch.manual_seed(10)
    x, y = har_like(1536, channels=9)
    # data_har.npy stores windows as (n, 9, 128) after its transpose
    x = torch.tensor(x).permute(0, 2, 1).contiguous()
    train_loader = DataLoader(TensorDataset(x, torch.tensor(y)), batch_size=BATCH_SIZE, shuffle=True,
                              drop_last=True)
    model = Network().to(DEVICE)
    optimizer = optim.SGD(params=model.parameters(), lr=LEARNING_RATE, momentum=0.9)
    train(model, optimizer, train_loader)
