"""PyTorch recipe "Automatic Mixed Precision" (recipes_source/recipes/amp_recipe.py): a stack of
Linear+ReLU layers (make_model), MSELoss against torch.randn targets, SGD lr 1e-3, trained once in
default precision and once under autocast with a GradScaler (scale(loss).backward(),
scaler.step(opt), scaler.update(), opt.zero_grad())."""
LABEL = {
    "source": "https://github.com/pytorch/tutorials/blob/main/recipes_source/recipes/amp_recipe.py",
    "question": "The official AMP recipe's two training runs (default precision, then "
                "autocast + GradScaler): does gradsight read the scaled gradients right?",
    "changes": ["cpu: torch.autocast('cpu', dtype=torch.bfloat16) and torch.amp.GradScaler('cpu') "
                "instead of torch.cuda.amp.autocast() (float16) and torch.cuda.amp.GradScaler(); "
                "the cuda timers/memory prints dropped",
                "in_size = out_size = 512 instead of 4096 and 25 batches instead of 50 (CPU "
                "time); batch 512, 3 layers, 3 epochs, the seeded torch.randn data and targets as "
                "in the recipe; torch.manual_seed(0)",
                "the 0-epoch illustration loops and the checkpoint round-trip kept out"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (ReLU), AMP",
    "fast": False,
    "expected": [{'kind': 'loss_not_decreasing', 'where': []}, {'kind': 'stalled_weights', 'where': ['0.weight', '2.weight', '4.weight']}],
    "allowed": [],
    "root_cause": 'stalled_weights',
    "why": "the recipe regresses torch.randn targets on torch.randn inputs (a timing benchmark): there is nothing to learn and SGD at 1e-3 with |g|/|w| ~1e-3 moves each weight 1-2e-6 of its norm per step; the MSE stays at the targets' variance (1.012 -> 1.010 against 1.001) in both the default-precision and the autocast+GradScaler run; the scaler's 65536 only scales the loss handed to backward (the plain measurement's per-backward loss reads 6.6e4 in the AMP half), the step sees unscaled gradients, no step is skipped",
    "measured": {'loss_start': 1.012, 'loss_end': 1.01, 'best_constant': 1.001, 'end_over_best': 1.01, 'update_ratio_0_weight': 1.19e-06, 'update_ratio_4_weight': 1.9e-06, 'grad_scale': 65536.0, 'steps': 150},
}
import torch

torch.manual_seed(0)


def make_model(in_size, out_size, num_layers):
    layers = []
    for _ in range(num_layers - 1):
        layers.append(torch.nn.Linear(in_size, in_size))
        layers.append(torch.nn.ReLU())
    layers.append(torch.nn.Linear(in_size, out_size))
    return torch.nn.Sequential(*tuple(layers))


batch_size = 512
in_size = 512
out_size = 512
num_layers = 3
num_batches = 25
epochs = 3

data = [torch.randn(batch_size, in_size) for _ in range(num_batches)]
targets = [torch.randn(batch_size, out_size) for _ in range(num_batches)]
loss_fn = torch.nn.MSELoss()

# Default precision
net = make_model(in_size, out_size, num_layers)
opt = torch.optim.SGD(net.parameters(), lr=0.001)
for epoch in range(epochs):
    for input, target in zip(data, targets):
        output = net(input)
        loss = loss_fn(output, target)
        loss.backward()
        opt.step()
        opt.zero_grad()
print("Default precision: last loss", loss.item())

# All together ("Automatic Mixed Precision")
use_amp = True
net = make_model(in_size, out_size, num_layers)
opt = torch.optim.SGD(net.parameters(), lr=0.001)
scaler = torch.amp.GradScaler("cpu", enabled=use_amp)
for epoch in range(epochs):
    for input, target in zip(data, targets):
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=use_amp):
            output = net(input)
            loss = loss_fn(output, target)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
print("Mixed precision: last loss", loss.item(), "scale", scaler.get_scale())
