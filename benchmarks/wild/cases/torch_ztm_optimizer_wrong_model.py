"""Zero to Mastery "PyTorch workflow" notebook, as a learner posted it (mrdbourke/pytorch-deep-
learning issue 399): the nn.Linear regression model_1 is trained with an optimizer built from
the parameters of the earlier model_0, so optimizer.step() never touches model_1."""
LABEL = {
    "source": "https://github.com/mrdbourke/pytorch-deep-learning/issues/399",
    "question": "loss remains the same: LinearRegressionModel2 trained with MSELoss and "
                "torch.optim.SGD(params=model_0.parameters(), lr=0.01).",
    "changes": ["the issue's code up to where the post is cut off (X_train/X_test/y_train to "
                "the device), the rest of the cell (y_test to the device and the training "
                "loop) as in the notebook's section 6 cell that the post copies line for line",
                "the notebook's data cell (y = 0.7x + 0.3 on 50 points, 40 for training) and "
                "its model_0 (LinearRegressionModel, two nn.Parameters from torch.randn, built "
                "after torch.manual_seed(42)) so that model_0 exists; device 'cpu'"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "linear (nn.Linear)",
    "fast": True,
    "expected": [{"kind": "not_optimized", "where": [], "step_max": 0},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["no_gradient", "gradients_not_reset"],
    "root_cause": "not_optimized",
    "why": "the optimizer holds model_0's two nn.Parameters, which no forward uses (their .grad "
           "stays None, their update 0); model_1, whose output the loss is computed from, is in "
           "no optimizer: its weight and bias receive a gradient every step (accumulating, as "
           "zero_grad() resets only model_0's) and never change, so the MSE is 0.3084 at every "
           "one of the 1,000 steps, 11.8x the best constant prediction's 0.0261. model_1 owns "
           "no optimized parameter, so its tensors have no contract name and where is left "
           "empty; model_0 receiving no gradient is true too (allowed)",
    "measured": {"loss_start": 0.308, "loss_end": 0.308, "best_constant": 0.0261,
                 "end_over_best": 11.8,
                 "not_in_optimizer": ['linear_layer.bias', 'linear_layer.weight'],
                 "optimized_update": 0.0, "optimized_grad": "nan"},
}
import torch
from torch import nn

device = "cpu"

# Create weight and bias
weight = 0.7
bias = 0.3

# Create range values
start = 0
end = 1
step = 0.02

# Create X and y (features and labels)
X = torch.arange(start, end, step).unsqueeze(dim=1)
y = weight * X + bias

# Split data
train_split = int(0.8 * len(X))
X_train, y_train = X[:train_split], y[:train_split]
X_test, y_test = X[train_split:], y[train_split:]


class LinearRegressionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1, dtype=torch.float), requires_grad=True)
        self.bias = nn.Parameter(torch.randn(1, dtype=torch.float), requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weights * x + self.bias


torch.manual_seed(42)
model_0 = LinearRegressionModel()


class LinearRegressionModel2(nn.Module):
  def __init__(self):
    super().__init__()
    self.linear_layer = nn.Linear(in_features=1,out_features=1) # refer above

  # Define the forward computation (input data x flows through nn.Linear())
  def forward(self, x: torch.Tensor) -> torch.Tensor:
      return self.linear_layer(x)

# Set the manual seed when creating the model (this isn't always need but is used for demonstrative purposes, try commenting it out and seeing what happens)
torch.manual_seed(42)
model_1 = LinearRegressionModel2()
model_1, model_1.state_dict()

# Create the loss function
loss_fn = nn.MSELoss() # MAE loss is same as L1Loss

# Create the optimizer
optimizer = torch.optim.SGD(params=model_0.parameters(), # parameters of target model to optimize
                            lr=0.01) # learning rate (how much the optimizer should change parameters at each step, higher=more (less stable), lower=less (might take a long time))

torch.manual_seed(42)

# Set the number of epochs
epochs = 1000

# Put data on the available device
# Without this, error will happen (not all model/data on device)
X_train = X_train.to(device)
X_test = X_test.to(device)
y_train = y_train.to(device)
y_test = y_test.to(device)

for epoch in range(epochs):
    ### Training
    model_1.train() # train mode is on by default after construction

    # 1. Forward pass
    y_pred = model_1(X_train)

    # 2. Calculate loss
    loss = loss_fn(y_pred, y_train)

    # 3. Zero grad optimizer
    optimizer.zero_grad()

    # 4. Loss backward
    loss.backward()

    # 5. Step the optimizer
    optimizer.step()

    ### Testing
    model_1.eval() # put the model in evaluation mode for testing (inference)
    # 1. Forward pass
    with torch.inference_mode():
        test_pred = model_1(X_test)

        # 2. Calculate the loss
        test_loss = loss_fn(test_pred, y_test)

    if epoch % 100 == 0:
        print(f"Epoch: {epoch} | Train loss: {loss} | Test loss: {test_loss}")
