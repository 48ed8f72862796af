"""Deep Learning with PyTorch Step-by-Step (Godoy), extra chapter "Exploding gradients": a
10-15-1 ReLU regression on make_regression targets (std ~100) with MSE and SGD 0.01, batch 32."""
LABEL = {
    "source": "https://github.com/dvgodoy/PyTorchStepByStep/blob/master/ChapterExtra.ipynb",
    "question": "Why do the losses and the fc1 gradients of this small regression blow up within"
                " two epochs?",
    "changes": ["the book's StepByStep class (stepbystep/v3.py) reduced to its train step and "
                "mini-batch loop, inlined; gradient capture and plots dropped"],
    "pair": "torch_stepbystep_regression_clip_value",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (regression)",
    "fast": False,
    "expected": [{"kind": "exploding_gradient", "where": ["fc1.weight"], "step_max": 8},
                 {"kind": "nonfinite", "where": [], "step_max": 10}],
    "allowed": ["loss_diverging", "dead_units"],
    "root_cause": "exploding_gradient",
    "why": "targets with a variance of 1.7e4 give gradients ~50-100x the weights at lr 0.01: "
           "every step overshoots, the gradient norms grow 1e25-fold in 9 steps, the loss "
           "reaches 2e36 and is NaN from step 9 on, with NaN gradients in every layer",
    "measured": {"loss_start": 15400.0, "loss_end": "nan", "first_nonfinite_loss_step": 9,
                 "first_nonfinite_grad_step": 9, "grad_growth_fc1": 2.16e+25,
                 "g_over_w_fc1_step0": 56.2},
}
import random

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.datasets import make_regression
from torch.utils.data import DataLoader, TensorDataset


class StepByStep(object):
    def __init__(self, model, loss_fn, optimizer):
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.losses = []
        self.clipping = None

    def set_loaders(self, train_loader):
        self.train_loader = train_loader

    def set_clip_grad_value(self, clip_value):
        self.clipping = lambda: nn.utils.clip_grad_value_(self.model.parameters(),
                                                          clip_value=clip_value)

    def set_seed(self, seed=42):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)

    def train_step(self, x, y):
        self.model.train()
        yhat = self.model(x)
        loss = self.loss_fn(yhat, y)
        loss.backward()
        if callable(self.clipping):
            self.clipping()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss.item()

    def train(self, n_epochs, seed=42):
        self.set_seed(seed)
        for epoch in range(n_epochs):
            mini_batch_losses = [self.train_step(x, y) for x, y in self.train_loader]
            self.losses.append(np.mean(mini_batch_losses))


X_reg, y_reg = make_regression(n_samples=1000, n_features=10, noise=0.1, random_state=42)

X_reg = torch.as_tensor(X_reg).float()
y_reg = torch.as_tensor(y_reg).float().view(-1, 1)

dataset = TensorDataset(X_reg, y_reg)
train_loader = DataLoader(dataset=dataset, batch_size=32, shuffle=True)

torch.manual_seed(11)
model = nn.Sequential()
model.add_module('fc1', nn.Linear(10, 15))
model.add_module('act', nn.ReLU())
model.add_module('fc2', nn.Linear(15, 1))
optimizer = optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.MSELoss()

sbs_reg = StepByStep(model, loss_fn, optimizer)
sbs_reg.set_loaders(train_loader)
sbs_reg.train(2)
print(sbs_reg.losses)
