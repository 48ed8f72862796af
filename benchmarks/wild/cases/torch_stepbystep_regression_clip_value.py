"""Deep Learning with PyTorch Step-by-Step (Godoy), extra chapter, the book's fix for the exploding
regression: Kaiming-uniform weights, zero biases, SGD 0.1 and clip_grad_value_(1.0), 10 epochs."""
LABEL = {
    "source": "https://github.com/dvgodoy/PyTorchStepByStep/blob/master/ChapterExtra.ipynb",
    "question": "Gradient value clipping: the same regression, re-initialized, trained with "
                "every gradient component clipped to [-1, 1].",
    "changes": ["the book's StepByStep class (stepbystep/v3.py) reduced to its train step and "
                "mini-batch loop, inlined; gradient capture and plots dropped"],
    "pair": "torch_stepbystep_regression_exploding",
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (regression, clipped)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "with every gradient component clipped to 1 the same regression converges: the loss "
           "falls from 1.6e4 to 53, 0.003x the best constant prediction (the targets' variance),"
           " with no non-finite value; the raw gradients are large, which is what the clipping "
           "is for",
    "measured": {"loss_start": 9270.0, "loss_end": 52.7, "best_constant": 17500.0,
                 "end_over_best": 0.00301, "update_over_w_fc1": 0.0491},
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
loss_fn = nn.MSELoss()



def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_uniform_(m.weight, nonlinearity='relu')
        if m.bias is not None:
            nn.init.zeros_(m.bias)


torch.manual_seed(42)
with torch.no_grad():
    model.apply(weights_init)

optimizer = optim.SGD(model.parameters(), lr=0.1)

sbs_reg_clip = StepByStep(model, loss_fn, optimizer)
sbs_reg_clip.set_loaders(train_loader)
sbs_reg_clip.set_clip_grad_value(1.0)
sbs_reg_clip.train(10)
print(sbs_reg_clip.losses)
