"""GRU classifier with discriminative learning rates, where the encoder's group got lr 0."""
import torch
import torch.nn as nn

LABEL = {
    "category": "positive",
    "architecture": "GRU",
    "fast": False,
    "expected": [{"kind": "not_optimized", "where": ["gru.weight_ih_l0"], "step_max": 0}],
    "allowed": ["loss_not_decreasing"],  # measured: the loss stays nearly flat
    "root_cause": "not_optimized",
    "why": "the GRU's param group has lr 0.0 (meant 1e-4), so it gets gradients but Adam never "
           "moves it; only the head trains",
    "measured": {"loss_start": 0.693, "loss_end": 0.65,
                 "lr_zero": ["gru.bias_hh_l0", "gru.bias_ih_l0", "gru.weight_hh_l0",
                             "gru.weight_ih_l0"],
                 "gru_update_over_w": 0.0},
}

torch.manual_seed(46)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(1, 32, batch_first=True)
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        _, h = self.gru(x)
        return self.head(h[-1])


model = Model()
optimizer = torch.optim.Adam([
    {"params": model.gru.parameters(), "lr": 0.0},  # typo: meant 1e-4
    {"params": model.head.parameters(), "lr": 1e-3},
])
for step in range(300):
    x = torch.randn(64, 20, 1)
    y = (x.sum(dim=(1, 2)) > 0).long()
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
