"""Deep Learning with PyTorch (Stevens, Antiga, Viehmann), chapter 6: the thermometer data fitted
by nn.Sequential(Linear(1, 8), Tanh, Linear(8, 1)) on the 0.1-scaled readings, SGD 1e-3, 5,000
full-batch epochs, validation loss computed with gradients on (as in the book)."""
LABEL = {
    "source": "https://github.com/deep-learning-with-pytorch/dlwpt-code/blob/master/p1ch6/1_neural_networks.ipynb",
    "question": "The book's first neural network: replace the linear model by a Tanh MLP and "
                "train it on the normalized temperatures.",
    "changes": ["the notebook's cells in one script; torch.manual_seed(0) (the notebook seeds "
                "nothing); prints and the plot dropped"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (tanh)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "the book's network fits the 9 training points: the loss falls from 225 to 1.7 in "
           "5,000 steps; 40% of the tanh outputs start within 0.01 of +-1 (the Linear(1, 8) "
           "weights times inputs of 2-8), falling to 6% in the median step, which does not stop "
           "the fit",
    "measured": {"loss_start": 44.1, "loss_end": 1.7, "saturated_init": 0.403,
                 "saturated_med": 0.0625, "update_over_w_hidden": 0.0281},
}
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(0)

t_c = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
t_u = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]
t_c = torch.tensor(t_c).unsqueeze(1)
t_u = torch.tensor(t_u).unsqueeze(1)

n_samples = t_u.shape[0]
n_val = int(0.2 * n_samples)
shuffled_indices = torch.randperm(n_samples)
train_indices = shuffled_indices[:-n_val]
val_indices = shuffled_indices[-n_val:]

t_u_train = t_u[train_indices]
t_c_train = t_c[train_indices]
t_u_val = t_u[val_indices]
t_c_val = t_c[val_indices]
t_un_train = 0.1 * t_u_train
t_un_val = 0.1 * t_u_val


def training_loop(n_epochs, optimizer, model, loss_fn, t_u_train, t_u_val,
                  t_c_train, t_c_val):
    for epoch in range(1, n_epochs + 1):
        t_p_train = model(t_u_train)
        loss_train = loss_fn(t_p_train, t_c_train)
        t_p_val = model(t_u_val)
        loss_val = loss_fn(t_p_val, t_c_val)

        optimizer.zero_grad()
        loss_train.backward()
        optimizer.step()
        if epoch == 1 or epoch % 1000 == 0:
            print(f"Epoch {epoch}, Training loss {loss_train.item():.4f},"
                  f" Validation loss {loss_val.item():.4f}")


seq_model = nn.Sequential(OrderedDict([
    ('hidden_linear', nn.Linear(1, 8)),
    ('hidden_activation', nn.Tanh()),
    ('output_linear', nn.Linear(8, 1))
]))

optimizer = optim.SGD(seq_model.parameters(), lr=1e-3)
training_loop(
    n_epochs=5000,
    optimizer=optimizer,
    model=seq_model,
    loss_fn=nn.MSELoss(),
    t_u_train=t_un_train,
    t_u_val=t_un_val,
    t_c_train=t_c_train,
    t_c_val=t_c_val)

print('output', seq_model(t_un_val))
print('answer', t_c_val)
