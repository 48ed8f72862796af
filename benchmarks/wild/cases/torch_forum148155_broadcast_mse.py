"""PyTorch forum 148155: Linear(3, 1, bias=False) learning y = x0 + x1 + x2 on 1,024 random
points with MSELoss and SGD 0.1 (written 10e-2), ReduceLROnPlateau, 500 full-batch steps; the
output is (1024, 1) and the target (1024,), so MSELoss broadcasts them to (1024, 1024)."""
LABEL = {
    "source": "https://discuss.pytorch.org/t/output-of-the-model-depends-on-the-shape-of-the-weights-tensor/148155",
    "question": "Why does the model fail to learn a sum of three inputs when the weight has shape "
                "[1, 3] but learn it perfectly when the weight has shape [3]?",
    "changes": ["torch.manual_seed(0) added (the post seeds nothing)",
                "ReduceLROnPlateau's verbose=True dropped (deprecated in current PyTorch)"],
    "pair": "torch_forum148155_broadcast_mse_fixed",
    "framework": "torch",
    "category": "positive",
    "architecture": "linear",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights"],
    "root_cause": "loss_not_decreasing",
    "why": "the output is (1024, 1) and the target (1024,): MSELoss broadcasts them to (1024, "
           "1024) and compares every output with every target, a loss no weight can bring below "
           "the targets' variance (0.252, the best constant prediction's loss). It falls from "
           "2.48 to 0.52 in 12 steps, then sits at 0.479 (1.9x the best constant) for the "
           "remaining ~470 steps; ReduceLROnPlateau, seeing no progress, halves the rate down "
           "to ~5e-8, so the weight's per-step update ends ~1e-6 of its norm",
    "measured": {"loss_start": 0.479, "loss_end": 0.479, "loss_first": 2.48,
                 "best_constant": 0.252, "end_over_best": 1.9, "lr_end": 4.77e-08,
                 "update_over_w_med": 7.45e-07},
}

import torch
from torch.nn import Sequential as Seq, Linear as Lin
from torch.optim.lr_scheduler import ReduceLROnPlateau

torch.manual_seed(0)

X = torch.rand((1024, 3))
y = (X[:, 0] + X[:, 1] + X[:, 2])
m = Seq(Lin(3, 1, bias=False))

# 1 option
m[0].weight = torch.nn.parameter.Parameter(torch.tensor([[0, 0, 0]], dtype=torch.float))

# 2 option
# m[0].weight = torch.nn.parameter.Parameter(torch.tensor([0, 0, 0], dtype=torch.float))

optim = torch.optim.SGD(m.parameters(), lr=10e-2)
scheduler = ReduceLROnPlateau(optim, 'min', factor=0.5, patience=20)
mse = torch.nn.MSELoss()
for epoch in range(500):
    optim.zero_grad()
    out = m(X)
    loss = mse(out, y)
    loss.backward()
    optim.step()
    if epoch % 20 == 0:
        print(loss.item())
    scheduler.step(loss)
