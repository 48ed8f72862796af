"""Deep Learning with PyTorch (Stevens, Antiga, Viehmann), chapter 5: fit the linear thermometer
model w * t_u + b with optim.SGD(lr=1e-2) on the raw readings t_u (values 21-82)."""
LABEL = {
    "source": "https://github.com/deep-learning-with-pytorch/dlwpt-code/blob/master/p1ch5/1_parameter_estimation.ipynb",
    "question": "Why does the loss blow up to inf when training on the raw thermometer readings "
                "with a learning rate of 1e-2 (and what does normalizing the input change)?",
    "changes": ["the book shows this blow-up with a hand-written gradient step "
                "(1_parameter_estimation); here the same configuration (raw t_u, lr 1e-2, 100 "
                "epochs) runs through the book's optim.SGD training_loop from 3_optimizers",
                "prints every 10 epochs instead of every 500"],
    "pair": "torch_dlwpt_thermometer_normalized",
    "framework": "torch",
    "category": "positive",
    "architecture": "linear (raw tensor parameters)",
    "fast": False,
    "expected": [{"kind": "nonfinite", "where": [], "step_max": 20}],
    "allowed": ["exploding_gradient", "loss_diverging"],
    "root_cause": None,
    "why": "inputs of 21-82 make the gradient of w ~4,500 at the start, so each SGD 1e-2 step "
           "overshoots by a factor of ~50: the loss grows ~3,000x per step (1,764, 5.8e6, "
           "1.9e10, ...), is inf at step 10 and NaN from step 20, and the parameters are NaN "
           "from then on (the parameters are one raw tensor, which the framework does not name)",
    "measured": {"loss_start": 7.26e+20,
                 "loss_end": "nan",
                 "loss_first": 1760.0,
                 "first_nonfinite_loss_step": 10,
                 "first_nonfinite_grad_step": 20,
                 "grad_growth": 7240000000000000.0},
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

        if epoch % 10 == 0:
            print('Epoch %d, Loss %f' % (epoch, float(loss)))

    return params


params = torch.tensor([1.0, 0.0], requires_grad=True)
learning_rate = 1e-2
optimizer = optim.SGD([params], lr=learning_rate)

training_loop(
    n_epochs=100,
    optimizer=optimizer,
    params=params,
    t_u=t_u,
    t_c=t_c)
