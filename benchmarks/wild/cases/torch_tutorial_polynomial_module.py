"""PyTorch tutorial "Learning PyTorch with Examples", PyTorch: Custom nn Modules: a third-order
polynomial with four scalar nn.Parameters fitted to sin(x) with SGD 1e-6 on a summed MSE."""
LABEL = {
    "source": "https://github.com/pytorch/tutorials/blob/main/beginner_source/examples_nn/polynomial_module.py",
    "question": "The tutorial's custom nn.Module: fit y = sin(x) with a + bx + cx^2 + dx^3.",
    "changes": ["torch.manual_seed(0) added (the tutorial seeds nothing)"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "polynomial (scalar parameters)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "SGD 1e-6 on a summed (not averaged) squared error over 2,000 points is an ordinary "
           "step size for this loss: the loss per point falls from 1.6 to 0.0069, 0.014x the "
           "best constant prediction's (the variance of sin(x)), with update ratios of 5e-4 to "
           "2e-3 per step",
    "measured": {"loss_start": 3240.0, "loss_end": 13.8, "best_constant": 0.5,
                 "per_point_loss_end": 0.00688, "update_over_w_d": 0.000728},
}
import math

import torch

torch.manual_seed(0)


class Polynomial3(torch.nn.Module):
    def __init__(self):
        """
        In the constructor we instantiate four parameters and assign them as
        member parameters.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + '
                f'{self.d.item()} x^3')


# Create Tensors to hold input and outputs.
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Construct our model by instantiating the class defined above
model = Polynomial3()

criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
for t in range(2000):
    # Forward pass: Compute predicted y by passing x to the model
    y_pred = model(x)

    # Compute and print loss
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    # Zero gradients, perform a backward pass, and update the weights.
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
