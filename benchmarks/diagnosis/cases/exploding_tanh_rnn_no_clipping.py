"""A vanilla tanh RNN summing 50-step sequences, SGD lr 0.05 and no gradient clipping."""
import torch
import torch.nn as nn

LABEL = {
    "category": "positive",
    "architecture": "RNN",
    "fast": False,
    "expected": [
        {"kind": "exploding_gradient", "where": ["rnn.weight_hh_l0"]},
        {"kind": "nonfinite", "where": []},
    ],
    "allowed": ["loss_diverging"],
    "root_cause": "exploding_gradient",
    "why": "backprop through 50 steps of a recurrent matrix with spectral radius ~1: a few "
           "large gradients push weight_hh past 1, the next gradients are larger still, and "
           "without clipping the weights run away to inf/NaN",
    # lr 0.05 (was 0.03): at 0.03 whether the weights reach inf depends on the float rounding
    # of the thread count (1 thread: a burst that recovers; 2: NaN at step 60); at 0.05 both go
    # NaN (measured with OMP_NUM_THREADS=1, as the scorer runs it)
    "measured": {"loss_start": 1.98e7, "loss_end": "nan", "weight_hh_grad_growth": 4590.0,
                 "weight_hh_grad_to_weight0": 1.44, "first_nonfinite_loss_step": 37,
                 "first_nonfinite_activation": {"step": 41, "module": "fc"}},
}

torch.manual_seed(33)


class Summer(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(1, 64, batch_first=True)
        self.fc = nn.Linear(64, 1)
        nn.init.orthogonal_(self.rnn.weight_hh_l0)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


model = Summer()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(300):
    x = torch.randn(32, 50, 1)
    y = x.sum(dim=(1, 2)).unsqueeze(1)
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(step, loss.item(), model.rnn.weight_hh_l0.grad.norm().item())
