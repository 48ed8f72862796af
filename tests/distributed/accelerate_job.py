"""The bypass bug (a step through the raw module, not the DDP wrapper) in an ``accelerate``
script: ``accelerate launch --cpu --num_processes 2 accelerate_job.py OUT``. Every rank writes
``OUT/rank<r>.json`` with its final parameters (plain torch)."""

import json
import os
import sys

import torch
from accelerate import Accelerator
from torch import nn

accelerator = Accelerator(cpu=True)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
wrapped, optimizer = accelerator.prepare(model, optimizer)
rank = accelerator.process_index
g = torch.Generator().manual_seed(rank)
for step in range(12):
    x = torch.randn(16, 6, generator=g)
    y = (x[:, :1] * 2 - x[:, 1:2]).tanh()
    forward = accelerator.unwrap_model(wrapped) if step % 3 == 2 else wrapped  # the bug
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(forward(x), y)
    accelerator.backward(loss)
    optimizer.step()
with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as f:
    json.dump({n: p.detach().tolist() for n, p in model.named_parameters()}, f)
