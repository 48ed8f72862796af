"""rslim087a's "PyTorch for Deep Learning and Computer Vision" course, Deep_Neural_Networks.ipynb:
a 2-4-1 network with sigmoid hidden units and a sigmoid output on make_circles (500 points,
factor 0.2, noise 0.1), BCELoss, Adam 0.1, 1,000 full-batch epochs."""
LABEL = {
    "source": "https://github.com/rslim087a/PyTorch-for-Deep-Learning-and-Computer-Vision-Course-All-Codes-/blob/master/PyTorch%20for%20Deep%20Learning%20and%20Computer%20Vision%20Course%20(All%20Codes)/Deep_Neural_Networks.ipynb",
    "question": "The course's first deep network: can a 4-unit sigmoid hidden layer separate two "
                "concentric circles?",
    "changes": ["the notebook's cells in one script; the plots, the decision-boundary grid and "
                "the single-point prediction dropped"],
    "pair": None,
    "framework": "torch",
    "category": "confounder",
    "architecture": "MLP (sigmoid)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "Adam at 0.1 separates the circles completely: the loss falls from 0.71 to 0.0017 "
           "(0.0025x the best constant prediction's ln 2), 100% training accuracy. The weights "
           "grow large on the way (at the end the hidden pre-activations have rms 11, the "
           "output's 7.7), so at the end each of the 4 hidden sigmoids is below 0.01 or above "
           "0.99 on 75-82% of the points and the output on 97%: saturation that is the result "
           "of a confident, correct fit, not a stall (measured separately with the trained "
           "model)",
    "measured": {"loss_start": 0.427, "loss_end": 0.00174, "loss_first": 0.715,
                 "best_constant": 0.693, "end_over_best": 0.0025, "output_preact_rms_end": 7.64,
                 "hidden_preact_rms_end": 11.1,
                 "hidden_saturated_end": 0.79, "accuracy": 1.0},
}

import torch
import numpy as np
import torch.nn as nn
from sklearn import datasets

n_pts = 500
X, y = datasets.make_circles(n_samples=n_pts, random_state=123, noise=0.1, factor=0.2)
x_data = torch.Tensor(X)
y_data = torch.Tensor(y.reshape(500, 1))


class Model(nn.Module):
  def __init__(self, input_size, H1, output_size):
    super().__init__()
    self.linear = nn.Linear(input_size, H1)
    self.linear2 = nn.Linear(H1, output_size)

  def forward(self, x):
    x = torch.sigmoid(self.linear(x))
    x = torch.sigmoid(self.linear2(x))
    return x

  def predict(self, x):
    pred = self.forward(x)
    if pred >= 0.5:
      return 1
    else:
      return 0


torch.manual_seed(2)
model = Model(2, 4, 1)
print(list(model.parameters()))

criterion = nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)

epochs = 1000
losses = []
for i in range(epochs):
  y_pred = model.forward(x_data)
  loss = criterion(y_pred, y_data)
  print("epoch:", i, "loss", loss.item())
  losses.append(loss.item())
  optimizer.zero_grad()
  loss.backward()
  optimizer.step()
