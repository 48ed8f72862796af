"""PyTorch tutorial "Writing Distributed Applications with PyTorch" (intermediate/dist_tuto):
distributed synchronous SGD written by hand on 2 processes (gloo), its average_gradients()
all-reducing every parameter's gradient after each backward, run in the tutorial's example script
(seba-1511/dist_tuto.pth train_dist.py: the MNIST ConvNet, its half of the data per rank,
SGD(lr=0.01, momentum=0.5), batch 128 / world size)."""
LABEL = {
    "source": "https://github.com/pytorch/tutorials/blob/main/intermediate_source/dist_tuto.rst",
    "question": "The tutorial's hand-written synchronous SGD (all_reduce of every gradient, then "
                "divide by the world size): does it train the two ranks as one model?",
    "changes": ["the tutorial's average_gradients() (every parameter, `dist.ReduceOp.SUM`) in "
                "its example script train_dist.py, which needs the Net, partitioner and loop "
                "the tutorial only names; the processes started with the spawn method, as the "
                "tutorial's run.py template does",
                "_wild_data.mnist_like (scikit-learn digits blown up to 28x28) normalized with "
                "(0.1307, 0.3081) instead of the torchvision MNIST download",
                "MASTER_PORT 29644 instead of 29500 (another job may hold that port); "
                "log_softmax(x, dim=1) (implicit dim); the 10 epochs kept (898 images per "
                "rank: 15 steps per epoch, 150 in all)"],
    "pair": "torch_dist_tuto_type_check",
    "framework": "torch",
    "category": "healthy",
    "architecture": "CNN (hand-written synchronous SGD, 2 ranks, torch.multiprocessing Process)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "every gradient is all-reduced and divided by 2 before the step, so both ranks "
           "apply the same averaged gradient (conv1.weight |g| 0.145 on both at step 0) to the "
           "same seeded weights: the final parameter norms are identical (largest relative "
           "difference 0); nll 2.30 -> 1.56 / 1.54 in 150 steps per rank (best constant 2.30) "
           "and still falling; every parameter moves 9e-4..5e-3 of its norm per step "
           "(SGD 0.01, momentum 0.5), no dead inputs to fc2 and 4% to fc1",
    "measured": {"steps_per_rank": 150, "replica_norm_spread": 0.0, "conv1_g0_rank0": 0.145,
                 "conv1_g0_rank1": 0.145, "loss_start": 2.3, "loss_end_rank0": 1.56,
                 "loss_end_rank1": 1.54, "best_constant": 2.3, "dw_over_w_min": 0.000935,
                 "fc1_input_zero_last20": 0.0437},
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
        dist.all_reduce(param.grad.data, op=dist.ReduceOp.SUM)
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
    os.environ['MASTER_PORT'] = '29644'
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
