"""PyTorch tutorial "Learning PyTorch with Examples", PyTorch: Control Flow + Weight Sharing: a
polynomial whose every forward pass picks 4 or 5 orders at random and reuses parameter e."""
LABEL = {
    "source": "https://github.com/pytorch/tutorials/blob/main/beginner_source/examples_nn/dynamic_net.py",
    "question": "The tutorial's dynamic graph: a randomly 3rd-5th order polynomial fitted to "
                "sin(x) with SGD 1e-8 and momentum 0.9.",
    "changes": ["torch.manual_seed(0) and random.seed(0) added",
                "8,000 steps instead of 30,000"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "polynomial (weight sharing, dynamic graph)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "a healthy fit with odd numbers: the loss per point falls from 2.3 to 0.15 (0.30x the"
           " best constant prediction); the x^4/x^5 term, present or not at random each step, "
           "gives parameter e gradients 1e7x its weight and relative updates of 0.17 per step at"
           " lr 1e-8 with momentum, and the loss alternates between two levels step to step",
    "measured": {"loss_start": 4510.0, "loss_end": 303.0, "best_constant": 0.5,
                 "per_point_loss_end": 0.152, "update_over_w_e": 0.171, "g_over_w_e": 32600000.0},
}
import math
import random

import torch

torch.manual_seed(0)
random.seed(0)


class DynamicNet(torch.nn.Module):
    def __init__(self):
        """
        In the constructor we instantiate five parameters and assign them as members.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + '
                f'{self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?')


# Create Tensors to hold input and outputs.
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Construct our model by instantiating the class defined above
model = DynamicNet()

# Training this strange model with vanilla stochastic gradient descent is tough, so we use
# momentum
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(8000):
    # Forward pass: Compute predicted y by passing x to the model
    y_pred = model(x)

    # Compute and print loss
    loss = criterion(y_pred, y)
    if t % 2000 == 1999:
        print(t, loss.item())

    # Zero gradients, perform a backward pass, and update the weights.
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
