"""PyTorch issue 112152: the DDP tutorial's demo_basic with ToyModel.forward changed to use net2
only (net1 declared, never called), one SGD step per rank, spawned with mp.spawn."""
LABEL = {
    "source": "https://github.com/pytorch/pytorch/issues/112152",
    "question": "DDP backpropagated gradients are not the same across all GPUs when the forward "
                "does not use all declared modules.",
    "changes": ["gloo on cpu (no device_ids) instead of nccl with one GPU per rank",
                "torch.manual_seed(rank) in demo_basic; MASTER_PORT 29511 instead of 12355 "
                "(another job may hold that port)"],
    "pair": "torch_ddp_tutorial_toy",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (DDP, 2 ranks)",
    "fast": False,
    "expected": [{"kind": "no_gradient", "where": ["net1.weight", "net1.bias"], "step_max": 0},
                 {"kind": "replicas_diverged", "where": ["net2.weight"]}],
    "allowed": [],
    "root_cause": "no_gradient",
    "why": "net1 is registered with DDP but never used, so it never gets a gradient (on both "
           "ranks) and the gradient bucket holding it never completes: DDP averages nothing, "
           "each rank steps on its own gradient (net2.weight |g|/|w| 0.643 on rank 0, 0.679 on "
           "rank 1) and the replicas, identical after DDP's broadcast, differ after the step",
    "measured": {"replica_norm_spread": 0.000571,
                 "never_grad_rank0": ['net1.bias', 'net1.weight'], "g_over_w_net2_rank0": 0.643,
                 "g_over_w_net2_rank1": 0.679},
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
    os.environ['MASTER_PORT'] = '29512'

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
        return self.net2(x)  # self.net2(self.relu(self.net1(x)))


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
