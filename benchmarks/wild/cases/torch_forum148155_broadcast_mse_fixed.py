"""PyTorch forum 148155: Linear(3, 1, bias=False) learning y = x0 + x1 + x2 on 1,024 random
points with MSELoss and SGD 0.1 (written 10e-2), ReduceLROnPlateau, 500 full-batch steps, with
the answer's fix: loss = mse(out, y.unsqueeze(1)), so output and target are both (1024, 1)."""
LABEL = {
    "source": "https://discuss.pytorch.org/t/output-of-the-model-depends-on-the-shape-of-the-weights-tensor/148155",
    "question": "The answer's fix ('After fixing this issue via loss = mse(out, y.unsqueeze(1)) "
                "the losses behave equal') of the broadcasting MSE.",
    "changes": ["torch.manual_seed(0) added (the post seeds nothing)",
                "ReduceLROnPlateau's verbose=True dropped (deprecated in current PyTorch)",
                "the answer's fix: mse(out, y.unsqueeze(1))"],
    "pair": "torch_forum148155_broadcast_mse",
    "framework": "torch",
    "category": "healthy",
    "architecture": "linear",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "with the target unsqueezed to (1024, 1) the loss is the ordinary per-sample MSE: it "
           "falls from 2.48 to 4e-4 within the first 10% of the run and to 5e-12 at the end "
           "(the weights reach 1, 1, 1), 2e-11 of the best constant prediction's 0.252; once "
           "converged the per-step updates are ~6e-6 of the weight's norm because the gradient "
           "is ~0, not because the run is stuck",
    "measured": {"loss_start": 0.000428, "loss_end": 4.84e-12, "loss_first": 2.48,
                 "best_constant": 0.252, "end_over_best": 1.92e-11, "lr_end": 0.1,
                 "update_over_w_med": 6.13e-06},
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
    loss = mse(out, y.unsqueeze(1))
    loss.backward()
    optim.step()
    if epoch % 20 == 0:
        print(loss.item())
    scheduler.step(loss)
