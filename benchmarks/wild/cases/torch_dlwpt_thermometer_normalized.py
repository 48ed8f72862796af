"""Deep Learning with PyTorch (Stevens, Antiga, Viehmann), chapter 5, the book's fix: the same
linear thermometer model and optim.SGD(lr=1e-2), on the readings scaled by 0.1 (t_un), 5,000
epochs."""
LABEL = {
    "source": "https://github.com/deep-learning-with-pytorch/dlwpt-code/blob/master/p1ch5/3_optimizers.ipynb",
    "question": "Why does the loss blow up to inf when training on the raw thermometer readings "
                "with a learning rate of 1e-2 (and what does normalizing the input change)?",
    "changes": ["the notebook's cells in one script (as in 3_optimizers: training_loop(5000, SGD"
                " 1e-2, t_un))"],
    "pair": "torch_dlwpt_thermometer_unnormalized",
    "framework": "torch",
    "category": "healthy",
    "architecture": "linear (raw tensor parameters)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "with the input scaled by 0.1 the same lr converges: the loss falls from 80 to 2.93 "
           "(the least-squares fit) and the updates shrink to 2.6e-5 of the weight per step once"
           " it is reached, which is convergence, not a stall",
    "measured": {"loss_start": 14.5, "loss_end": 2.93, "loss_first": 80.4,
                 "update_over_w_med": 2.63e-05},
}
import torch
import torch.optim as optim

t_c = torch.tensor([0.5, 14.0, 15.0, 28.0, 11.0,
                    8.0, 3.0, -4.0, 6.0, 13.0, 21.0])
t_u = torch.tensor([35.7, 55.9, 58.2, 81.9, 56.3, 48.9,
                    33.9, 21.8, 48.4, 60.4, 68.4])
t_un = 0.1 * t_u


def model(t_u, w, b):
    return w * t_u + b


def loss_fn(t_p, t_c):
    squared_diffs = (t_p - t_c)**2
    return squared_diffs.mean()


def training_loop(n_epochs, optimizer, params, t_u, t_c):
    for epoch in range(1, n_epochs + 1):
        t_p = model(t_u, *params)
        loss = loss_fn(t_p, t_c)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if epoch % 500 == 0:
            print('Epoch %d, Loss %f' % (epoch, float(loss)))

    return params


params = torch.tensor([1.0, 0.0], requires_grad=True)
learning_rate = 1e-2
optimizer = optim.SGD([params], lr=learning_rate)

training_loop(
    n_epochs=5000,
    optimizer=optimizer,
    params=params,
    t_u=t_un,
    t_c=t_c)
