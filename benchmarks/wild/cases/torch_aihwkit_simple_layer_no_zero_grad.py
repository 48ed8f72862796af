"""IBM aihwkit issue 446: the library's first example, one linear layer learning to sum its
inputs with SGD 0.1 for 100 steps, as it was before the fix: no opt.zero_grad() in the loop."""
LABEL = {
    "source": "https://github.com/IBM/aihwkit/issues/446",
    "question": "examples/01_simple_layer.py misses opt.zero_grad(): the loss decreases, then "
                "increases again.",
    "changes": ["AnalogLinear(4, 2) / AnalogSGD(lr=0.1), aihwkit's simulation of analog hardware"
                " (not installed here), replaced by nn.Linear(4, 2) / torch.optim.SGD(lr=0.1)",
                "torch.manual_seed(0); the cuda branch dropped"],
    "pair": "torch_aihwkit_simple_layer",
    "framework": "torch",
    "category": "positive",
    "architecture": "linear",
    "fast": True,
    "expected": [{"kind": "gradients_not_reset", "where": ["weight", "bias"], "step_max": 2}],
    "allowed": ["loss_diverging", "loss_not_decreasing", "exploding_gradient", "loss_spike"],
    "root_cause": "gradients_not_reset",
    "why": "nothing resets .grad, so from step 1 on every optimizer step applies the sum of all "
           "gradients so far (measured: the first backward after each of 99 steps finds the "
           "previous gradient still there); the loss falls to 0.005 by step 40, then climbs back"
           " to 0.6 and oscillates, ending 25x above the best constant prediction",
    "measured": {"loss_start": 0.466, "loss_end": 0.398, "stale_grad_steps": 99,
                 "first_stale_step": 1, "best_constant": 0.0163, "loss_min_window": 0.271,
                 "grad_growth_weight": 1.79},
}
# Imports from PyTorch.
import torch
from torch import Tensor
from torch.nn import Linear
from torch.nn.functional import mse_loss
from torch.optim import SGD

torch.manual_seed(0)

# Prepare the datasets (input and expected output).
x = Tensor([[0.1, 0.2, 0.4, 0.3], [0.2, 0.1, 0.1, 0.3]])
y = Tensor([[1.0, 0.5], [0.7, 0.3]])

# Define a single-layer network.
model = Linear(4, 2, bias=True)

# Define the optimizer.
opt = SGD(model.parameters(), lr=0.1)

for epoch in range(100):
    # Add the training Tensor to the model (input).
    pred = model(x)
    # Add the expected output Tensor.
    loss = mse_loss(pred, y)
    # Run training (backward propagation).
    loss.backward()

    opt.step()

    print("Loss error: {:.16f}".format(loss))
