"""yangkky/distributed_tutorial src/mnist-distributed.py (the blog post "Distributed data parallel
training in Pytorch"): a 2-conv + BatchNorm ConvNet on MNIST, DistributedDataParallel under
mp.spawn, DistributedSampler (no set_epoch), CrossEntropy, plain SGD(lr=1e-4), batch 100."""
LABEL = {
    "source": "https://github.com/yangkky/distributed_tutorial/blob/master/src/mnist-distributed.py",
    "question": "The tutorial's multi-process DDP MNIST script: does it train?",
    "changes": ["gloo on cpu instead of nccl/cuda; MASTER_ADDR localhost, MASTER_PORT 29631; "
                "--gpus default 2 (two ranks)",
                "_wild_data.mnist_like (scikit-learn digits blown up to 28x28, [0,1] like "
                "ToTensor) instead of the torchvision MNIST download; unused apex imports dropped",
                "--epochs default 2 -> 10 (1797 images: 9 steps per rank per epoch, 90 in all)"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "CNN + BatchNorm (DDP, 2 ranks, mp.spawn)",
    "fast": False,
    "expected": [{"kind": "stalled_weights", "where": ["layer1.0.weight", "layer1.1.weight",
                  "layer2.0.weight", "layer2.1.weight"]}],
    "allowed": ["loss_not_decreasing"],
    "root_cause": "stalled_weights",
    "why": "plain SGD with lr=1e-4 (no momentum) moves every weight 2e-6..4e-4 of its norm per "
           "step (conv 5e-5 / 9.5e-5, BN gammas 2.4e-6, fc 4e-4): the loss goes 2.40 -> 2.13 in "
           "90 steps against a best-constant 2.30; the whole optimizer's learning rate is ~100x "
           "too small, not a few parameters'. Replicas stay identical (DDP).",
    "measured": {"steps_per_rank": 90, "loss_start": 2.404, "loss_end": 2.126,
                 "best_constant": 2.301, "dw_over_w_layer1.0.weight": 5.04e-05,
                 "dw_over_w_layer1.1.weight": 2.35e-06, "dw_over_w_layer2.0.weight": 9.51e-05,
                 "dw_over_w_layer2.1.weight": 2.4e-06, "dw_over_w_fc.weight": 4.04e-04},
}
import os
from datetime import datetime
import argparse
import torch.multiprocessing as mp
import torch
import torch.nn as nn
import torch.distributed as dist
from torch.utils.data import TensorDataset

from _wild_data import mnist_like


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-n', '--nodes', default=1, type=int, metavar='N',
                        help='number of data loading workers (default: 4)')
    parser.add_argument('-g', '--gpus', default=2, type=int,
                        help='number of gpus per node')
    parser.add_argument('-nr', '--nr', default=0, type=int,
                        help='ranking within the nodes')
    parser.add_argument('--epochs', default=10, type=int, metavar='N',
                        help='number of total epochs to run')
    args = parser.parse_args()
    args.world_size = args.gpus * args.nodes
    os.environ['MASTER_ADDR'] = 'localhost'
    os.environ['MASTER_PORT'] = '29631'
    mp.spawn(train, nprocs=args.gpus, args=(args,))


class ConvNet(nn.Module):
    def __init__(self, num_classes=10):
        super(ConvNet, self).__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(7*7*32, num_classes)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = out.reshape(out.size(0), -1)
        out = self.fc(out)
        return out


def train(gpu, args):
    torch.set_num_threads(1)
    rank = args.nr * args.gpus + gpu
    dist.init_process_group(backend='gloo', init_method='env://', world_size=args.world_size, rank=rank)
    torch.manual_seed(0)
    model = ConvNet()
    batch_size = 100
    # define loss function (criterion) and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 1e-4)
    # Wrap the model
    model = nn.parallel.DistributedDataParallel(model)
    # Data loading code
    images, labels = mnist_like()
    train_dataset = TensorDataset(torch.from_numpy(images)[:, None], torch.from_numpy(labels))
    train_sampler = torch.utils.data.distributed.DistributedSampler(train_dataset,
                                                                    num_replicas=args.world_size,
                                                                    rank=rank)
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=False,
                                               num_workers=0,
                                               pin_memory=False,
                                               sampler=train_sampler)

    start = datetime.now()
    total_step = len(train_loader)
    for epoch in range(args.epochs):
        for i, (images, labels) in enumerate(train_loader):
            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (i + 1) % 3 == 0 and gpu == 0:
                print('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'.format(epoch + 1, args.epochs, i + 1, total_step,
                                                                         loss.item()))
    if gpu == 0:
        print("Training complete in: " + str(datetime.now() - start))


if __name__ == '__main__':
    main()
