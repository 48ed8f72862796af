"""rslim087a's "PyTorch for Deep Learning and Computer Vision" course, Linear_Regression.ipynb:
nn.Linear(1, 1) fitted to y = x + 3 N(0, 1) with x = 10 N(0, 1) (unscaled), MSELoss, SGD 0.01,
100 full-batch epochs; a student reports that the notebook's code diverges."""
LABEL = {
    "source": "https://github.com/rslim087a/PyTorch-for-Deep-Learning-and-Computer-Vision-Course-All-Codes-/issues/1",
    "question": "I am using exactly the code as per Linear_Regression.ipynb but it diverges! "
                "(also filed as pytorch/pytorch#23142, loss 36 -> 44 -> 53 -> ...)",
    "changes": ["the notebook's cells in one script, the plots and get_params dropped",
                "torch.manual_seed(0) before the data (the notebook seeds only the model, after "
                "drawing X, so whether it diverges depends on the draw; seed 0 gives "
                "mean(x^2) = 105 > 1/lr = 100, the issue's case)"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "linear",
    "fast": False,
    "expected": [{"kind": "loss_diverging", "where": []},
                 {"kind": "exploding_gradient", "where": ["weight"]}],
    "allowed": ["loss_spike", "update_spike"],
    "root_cause": None,
    "why": "x is unscaled (mean x^2 = 105), so SGD at lr 0.01 is past the stability limit "
           "1/mean(x^2) ~ 0.0095 for the weight: each step overshoots the slope and multiplies "
           "its error by ~-1.1, so the loss grows ~1.2x per step (30 at step 0, 2e9 at the end, "
           "2e7x the best constant prediction's 105) and the weight's gradient grows 5,600x; "
           "nothing becomes non-finite in 100 steps. The model is called as model.forward(X), "
           "so the module that runs (and names the parameters) is the inner nn.Linear: weight, "
           "bias",
    "measured": {"loss_start": 64.9, "loss_end": 2130000000.0, "loss_first": 29.9,
                 "loss_max": 4610000000.0, "best_constant": 105.0, "end_over_best": 20200000.0,
                 "grad_growth_weight": 5560.0, "g_over_w_weight_step0": 73.4,
                 "first_nonfinite_loss_step": None},
}

import torch
import torch.nn as nn

torch.manual_seed(0)
X = torch.randn(100, 1)*10
y = X + 3*torch.randn(100, 1)


class LR(nn.Module):
  def __init__(self, input_size, output_size):
    super().__init__()
    self.linear = nn.Linear(input_size, output_size)

  def forward(self, x):
    pred = self.linear(x)
    return pred


torch.manual_seed(1)
model = LR(1, 1)
print(model)

criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr = 0.01)

epochs = 100
losses = []
for i in range(epochs):
  y_pred = model.forward(X)
  loss = criterion(y_pred, y)
  print("epoch:", i, "loss:", loss.item())

  losses.append(loss)
  optimizer.zero_grad()
  loss.backward()
  optimizer.step()
