"""PyTorch tutorial "Getting Started with Distributed Data Parallel", demo_basic: the ToyModel
(Linear-ReLU-Linear) wrapped in DDP, one SGD step per rank on random data, spawned with mp.spawn."""
LABEL = {
    "source": "https://github.com/pytorch/tutorials/blob/main/intermediate_source/ddp_tutorial.rst",
    "question": "The tutorial's basic DDP example: two processes, gradients averaged by DDP.",
    "changes": ["gloo on cpu (no device_ids) instead of one GPU per rank",
                "torch.manual_seed(rank) in demo_basic; MASTER_PORT 29511 instead of 12355 "
                "(another job may hold that port)"],
    "pair": "torch_ddp_unused_module",
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (DDP, 2 ranks)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "DDP averages the two ranks' gradients: after the one SGD step both replicas are "
           "identical (largest relative difference of a parameter norm 0) and every parameter "
           "received a gradient",
    "measured": {"replica_norm_spread": 0.0, "never_grad_rank0": []},
}
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.optim as optim
from torch.nn.parallel import DistributedDataParallel as DDP


def setup(rank, world_size):
    os.environ['MASTER_ADDR'] = 'localhost'
    os.environ['MASTER_PORT'] = '29511'

    # initialize the process group
    dist.init_process_group("gloo", rank=rank, world_size=world_size)


def cleanup():
    dist.destroy_process_group()


class ToyModel(nn.Module):
    def __init__(self):
        super(ToyModel, self).__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def demo_basic(rank, world_size):
    print(f"Running basic DDP example on rank {rank}.")
    setup(rank, world_size)
    torch.manual_seed(rank)

    # create model; DDP broadcasts rank 0's parameters to every rank
    model = ToyModel()
    ddp_model = DDP(model)

    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.001)

    optimizer.zero_grad()
    outputs = ddp_model(torch.randn(20, 10))
    labels = torch.randn(20, 5)
    loss_fn(outputs, labels).backward()
    optimizer.step()

    cleanup()
    print(f"Finished running basic DDP example on rank {rank}.")


def run_demo(demo_fn, world_size):
    mp.spawn(demo_fn,
             args=(world_size,),
             nprocs=world_size,
             join=True)


if __name__ == "__main__":
    run_demo(demo_basic, 2)
