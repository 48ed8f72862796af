"""rslim087a's "PyTorch for Deep Learning and Computer Vision" course, Perceptron.ipynb: one
nn.Linear(2, 1) with a sigmoid on two Gaussian blobs (100 points, centers (-0.5, 0.5) and
(0.5, -0.5), std 0.4), BCELoss, SGD 0.01, 1,000 full-batch epochs."""
LABEL = {
    "source": "https://github.com/rslim087a/PyTorch-for-Deep-Learning-and-Computer-Vision-Course-All-Codes-/blob/master/PyTorch%20for%20Deep%20Learning%20and%20Computer%20Vision%20Course%20(All%20Codes)/Perceptron.ipynb",
    "question": "The course's perceptron: a logistic regression separating two blobs.",
    "changes": ["the notebook's cells in one script; the plots and the two-point prediction "
                "dropped"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "logistic regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "a logistic regression on two separable blobs: at SGD 0.01 the loss falls steadily "
           "from 0.62 to 0.26 in 1,000 steps (0.38x the best constant prediction's ln 2), the "
           "weight moving ~1e-3 of its norm per step; slow-ish but clearly learning",
    "measured": {"loss_start": 0.571, "loss_end": 0.262, "loss_first": 0.619,
                 "best_constant": 0.693, "end_over_best": 0.378, "update_over_w_weight": 0.00134},
}

import torch
import numpy as np
import torch.nn as nn
from sklearn import datasets

n_pts = 100
centers = [[-0.5, 0.5], [0.5, -0.5]]
X, y = datasets.make_blobs(n_samples=n_pts, random_state=123, centers=centers, cluster_std=0.4)

x_data = torch.Tensor(X)
y_data = torch.Tensor(y.reshape(100, 1))
print(y.shape)


class Model(nn.Module):
    def __init__(self, input_size, output_size):
      super().__init__()
      self.linear = nn.Linear(input_size, output_size)

    def forward(self, x):
      pred = torch.sigmoid(self.linear(x))
      return pred

    def predict(self, x):
      pred = self.forward(x)
      if pred >= 0.5:
        return 1
      else:
        return 0


torch.manual_seed(2)
model = Model(2, 1)
print(list(model.parameters()))

criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

epochs = 1000
losses = []

for i in range(epochs):
  y_pred = model.forward(x_data)
  loss = criterion(y_pred, y_data)
  print("epoch:", i, "loss:", loss.item())
  losses.append(loss.item())
  optimizer.zero_grad()
  loss.backward()
  optimizer.step()
