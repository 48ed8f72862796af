"""seba-1511/dist_tuto.pth train_dist.py, the example script of the PyTorch tutorial "Writing
Distributed Applications with PyTorch": synchronous SGD written by hand on 2 processes (gloo),
each rank training the MNIST ConvNet (2 conv, Dropout2d, 2 linear, log_softmax + nll_loss) on its
half of the data with SGD(lr=0.01, momentum=0.5), average_gradients() after every backward."""
LABEL = {
    "source": "https://github.com/seba-1511/dist_tuto.pth/blob/master/train_dist.py",
    "question": "The distributed tutorial's own script: does its hand-written gradient averaging "
                "keep the two ranks' models in step?",
    "changes": ["_wild_data.mnist_like (scikit-learn digits blown up to 28x28) normalized with "
                "(0.1307, 0.3081) instead of the torchvision MNIST download",
                "the processes started with the spawn method, as the tutorial's current run.py "
                "template does (mp.set_start_method(\"spawn\")), instead of Linux's default fork",
                "MASTER_PORT 29643 instead of 29500 (another job may hold that port); "
                "log_softmax(x, dim=1) (implicit dim); the 10 epochs kept (898 images per "
                "rank: 15 steps per epoch, 150 in all)"],
    "pair": "torch_dist_tuto_sync_sgd",
    "framework": "torch",
    "category": "positive",
    "architecture": "CNN (hand-written synchronous SGD, 2 ranks, torch.multiprocessing Process)",
    "fast": False,
    "expected": [{"kind": "replicas_diverged", "where": [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
        "fc2.weight", "fc2.bias"]}],
    "allowed": [],
    "root_cause": "replicas_diverged",
    "why": "average_gradients() all-reduces only where `type(param) is torch.Tensor`, which is "
           "False for every nn.Parameter (a Tensor subclass), so no gradient is ever averaged "
           "(nor does the call reach the stale `dist.reduce_op` / `group=0`): both ranks start "
           "from the same weights (torch.manual_seed(1234) on each; conv1.weight norm 1.79 on "
           "both) but step on their own half's gradient (conv1.weight |g| 0.187 vs 0.172 at "
           "step 0), two independent models whose final parameter norms differ by up to 3.9% "
           "(fc2.bias; every one of the 8 parameters differs, 0.3%..3.9%). Each rank's own "
           "training is fine (nll 2.31 -> 1.60 / 1.65 in 150 steps, best constant 2.30)",
    "measured": {"steps_per_rank": 150, "replica_norm_spread": 0.0393, "conv1_w0_rank0": 1.79,
                 "conv1_w0_rank1": 1.79, "conv1_g0_rank0": 0.187, "conv1_g0_rank1": 0.172,
                 "loss_end_rank0": 1.6, "loss_end_rank1": 1.65, "best_constant": 2.3},
}
#!/usr/bin/env python

import os
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from math import ceil
from random import Random
from torch.multiprocessing import Process, set_start_method
from torch.autograd import Variable

from _wild_data import mnist_like


class Partition(object):
    """ Dataset-like object, but only access a subset of it. """

    def __init__(self, data, index):
        self.data = data
        self.index = index

    def __len__(self):
        return len(self.index)

    def __getitem__(self, index):
        data_idx = self.index[index]
        return self.data[data_idx]


class DataPartitioner(object):
    """ Partitions a dataset into different chuncks. """

    def __init__(self, data, sizes=[0.7, 0.2, 0.1], seed=1234):
        self.data = data
        self.partitions = []
        rng = Random()
        rng.seed(seed)
        data_len = len(data)
        indexes = [x for x in range(0, data_len)]
        rng.shuffle(indexes)

        for frac in sizes:
            part_len = int(frac * data_len)
            self.partitions.append(indexes[0:part_len])
            indexes = indexes[part_len:]

    def use(self, partition):
        return Partition(self.data, self.partitions[partition])


class Net(nn.Module):
    """ Network architecture. """

    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def partition_dataset():
    """ Partitioning MNIST """
    images, labels = mnist_like()
    images = (torch.from_numpy(images)[:, None] - 0.1307) / 0.3081
    dataset = torch.utils.data.TensorDataset(images, torch.from_numpy(labels))
    size = dist.get_world_size()
    bsz = 128 // size
    partition_sizes = [1.0 / size for _ in range(size)]
    partition = DataPartitioner(dataset, partition_sizes)
    partition = partition.use(dist.get_rank())
    train_set = torch.utils.data.DataLoader(
        partition, batch_size=bsz, shuffle=True)
    return train_set, bsz


def average_gradients(model):
    """ Gradient averaging. """
    size = float(dist.get_world_size())
    for param in model.parameters():
        if type(param) is torch.Tensor:
            dist.all_reduce(param.grad.data, op=dist.reduce_op.SUM, group=0)
            param.grad.data /= size


def run(rank, size):
    """ Distributed Synchronous SGD Example """
    torch.manual_seed(1234)
    train_set, bsz = partition_dataset()
    model = Net()
    model = model
#    model = model.cuda(rank)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.5)

    num_batches = ceil(len(train_set.dataset) / float(bsz))
    for epoch in range(10):
        epoch_loss = 0.0
        for data, target in train_set:
            data, target = Variable(data), Variable(target)
#            data, target = Variable(data.cuda(rank)), Variable(target.cuda(rank))
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            epoch_loss += loss
            loss.backward()
            average_gradients(model)
            optimizer.step()
        print('Rank ',
              dist.get_rank(), ', epoch ', epoch, ': ',
              epoch_loss / num_batches)


def init_processes(rank, size, fn, backend='gloo'):
    """ Initialize the distributed environment. """
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = '29643'
    dist.init_process_group(backend, rank=rank, world_size=size)
    fn(rank, size)


if __name__ == "__main__":
    size = 2
    processes = []
    set_start_method("spawn")
    for rank in range(size):
        p = Process(target=init_processes, args=(rank, size, run))
        p.start()
        processes.append(p)

    for p in processes:
        p.join()
