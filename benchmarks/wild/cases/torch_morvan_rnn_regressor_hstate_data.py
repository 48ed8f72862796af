"""MorvanZhou/PyTorch-Tutorial, 403_RNN_regressor.py: an Elman nn.RNN(1, 32, batch_first) plus
nn.Linear(32, 1) applied at every time step learns cos(t) from sin(t) on consecutive windows of 10
points (one window per step, batch 1), MSELoss, Adam 0.02, 100 steps; the hidden state is carried
from window to window and cut from the graph with `h_state = h_state.data`."""
LABEL = {
    "source": "https://github.com/MorvanZhou/PyTorch-Tutorial/issues/49",
    "question": "403_RNN_regressor.py contains a weird line of code: `h_state = h_state.data` "
                "does not actually break the connection to the previous iteration, and the "
                "RNN regression did not work for me; should it be `h_state = None`?",
    "changes": ["matplotlib plotting dropped; torch.manual_seed(1) enabled (the file has it "
                "commented out, '# reproducible')"],
    "pair": None,
    "framework": "torch",
    "category": "confounder",
    "architecture": "RNN regressor (Elman, 32 units)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "`h_state = h_state.data` does what its comment says: the next window starts from "
           "the previous hidden state's values without its graph (truncated backpropagation "
           "through time; loss.backward() never reaches an older window and never fails). The "
           "run trains: the MSE falls from 0.56 (the best constant prediction's 0.55) to 0.0049 "
           "over the last 10 of 100 steps (end/best 0.009); every tensor moves 5-9% of its norm "
           "per step under Adam 0.02 and gets a gradient at every step (rnn.weight_hh_l0 "
           "included, so the recurrence is trained within each window); the output layer's "
           "gradient grows ~19x from its small start as the fit sharpens, no blow-up, no NaN",
    "measured": {"loss_start": 0.564, "loss_end": 0.00494, "best_constant": 0.55,
                 "end_over_best": 0.00898, "update_over_w_min": 0.0531,
                 "update_over_w_max": 0.0936, "grad_growth_max": 19.3, "whh_g_over_w_med": 0.189,
                 "steps": 100},
}
import torch
from torch import nn
import numpy as np

torch.manual_seed(1)    # reproducible

# Hyper Parameters
TIME_STEP = 10      # rnn time step
INPUT_SIZE = 1      # rnn input size
LR = 0.02           # learning rate


class RNN(nn.Module):
    def __init__(self):
        super(RNN, self).__init__()

        self.rnn = nn.RNN(
            input_size=INPUT_SIZE,
            hidden_size=32,     # rnn hidden unit
            num_layers=1,       # number of rnn layer
            batch_first=True,   # input & output will has batch size as 1s dimension. e.g. (batch, time_step, input_size)
        )
        self.out = nn.Linear(32, 1)

    def forward(self, x, h_state):
        # x (batch, time_step, input_size)
        # h_state (n_layers, batch, hidden_size)
        # r_out (batch, time_step, hidden_size)
        r_out, h_state = self.rnn(x, h_state)

        outs = []    # save all predictions
        for time_step in range(r_out.size(1)):    # calculate output for each time step
            outs.append(self.out(r_out[:, time_step, :]))
        return torch.stack(outs, dim=1), h_state


rnn = RNN()
print(rnn)

optimizer = torch.optim.Adam(rnn.parameters(), lr=LR)   # optimize all cnn parameters
loss_func = nn.MSELoss()

h_state = None      # for initial hidden state

for step in range(100):
    start, end = step * np.pi, (step+1)*np.pi   # time range
    # use sin predicts cos
    steps = np.linspace(start, end, TIME_STEP, dtype=np.float32)  # float32 for converting torch FloatTensor
    x_np = np.sin(steps)
    y_np = np.cos(steps)

    x = torch.from_numpy(x_np[np.newaxis, :, np.newaxis])    # shape (batch, time_step, input_size)
    y = torch.from_numpy(y_np[np.newaxis, :, np.newaxis])

    prediction, h_state = rnn(x, h_state)   # rnn output
    # !! next step is important !!
    h_state = h_state.data        # repack the hidden state, break the connection from last iteration

    loss = loss_func(prediction, y)         # calculate loss
    optimizer.zero_grad()                   # clear gradients for this training step
    loss.backward()                         # backpropagation, compute gradients
    optimizer.step()                        # apply gradients
    if step % 10 == 0:
        print(step, loss.item())
