"""Seed 002 in PyTorch: "batch norm blocks backprop" -- it doesn't.

The posted actor network normalizes its input with a batch norm whose output is never used
(the line was left in when the author switched approaches), so that batch norm's gamma/beta
get no gradient at all: TensorFlow shows ``None``. The batch norm after ``layer_1`` passes
gradients fine. ``layer_1``'s bias, right before that batch norm, gets a zero gradient by
construction: the norm subtracts the batch mean, so any constant per feature cancels.
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--dropout", type=float, default=0.1)
args = parser.parse_args()


class Actor(nn.Module):
    def __init__(self, state_dim=4, hidden=185, action_dim=2, dropout_rate=0.1):
        super().__init__()
        self.input_norm = nn.BatchNorm1d(state_dim)
        self.layer_1 = nn.Linear(state_dim, hidden)
        self.normalizer_actor_layer1 = nn.BatchNorm1d(hidden)
        self.act = nn.LeakyReLU()
        self.dropout = nn.Dropout(dropout_rate)
        self.action = nn.Linear(hidden, action_dim, bias=False)

    def forward(self, s):
        self.input_norm(s)  # output never used: its parameters never reach the loss
        h = self.layer_1(s)
        h = self.normalizer_actor_layer1(h)
        h = self.dropout(self.act(h))
        return self.action(h)


torch.manual_seed(args.seed)
expert = torch.randn(4, 2)
actor = Actor(dropout_rate=args.dropout)
opt_i = torch.optim.SGD(actor.parameters(), lr=0.01, momentum=0.9)

for step in range(args.steps):
    s = torch.randn(64, 4)
    a_expert = torch.tanh(s @ expert)
    loss_imitation = ((actor(s) - a_expert) ** 2).mean()
    opt_i.zero_grad()
    loss_imitation.backward()
    opt_i.step()
    if step % 100 == 0:
        print(step, loss_imitation.item())
print("final imitation loss", loss_imitation.item())
