"""MorvanZhou's PyTorch-Tutorial, 304_save_reload.py (the training half, save()): a 1-10-1 ReLU
network (nn.Sequential) regressing y = x^2 + 0.2 U(0, 1) on 100 points of [-1, 1] with MSELoss
and SGD 0.5 for 100 full-batch steps."""
LABEL = {
    "source": "https://github.com/MorvanZhou/PyTorch-Tutorial/pull/31",
    "question": "lr = 0.5 was too big that will not changing loss in this example "
                "(tutorial-contents/304_save_reload.py), so revise it as 0.4.",
    "changes": ["save() only: torch.save of the model and the restore/plot functions dropped",
                "torch.manual_seed(1) (the tutorial's own commented-out line, un-commented): "
                "the outcome depends on the draw; at lr 0.5, seeds 0-9 kill all 10 hidden ReLUs "
                "in 1 run (seed 1) and 9 of 10 in 2 more"],
    "pair": "torch_morvan_regression",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (regression)",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["0.weight"], "step_max": 10},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["no_gradient", "stalled_weights", "vanishing_gradient", "loss_diverging",
                "loss_spike", "exploding_gradient"],
    "root_cause": "dead_units",
    "why": "SGD 0.5 overshoots in the first steps (loss 0.66 -> 6.8 -> 9.1 at steps 0-2, "
           "first-layer gradient norm 0.16 -> 3.2) and the step-2 update pushes every one of "
           "the 10 hidden ReLUs negative on all 100 inputs (3 of 10 silent at step 0, all 10 "
           "from step 3 to the end): no gradient reaches 0.weight, 0.bias or 2.weight again "
           "(median gradient 0), only the output bias learns the targets' mean, and the loss "
           "sits at the best constant prediction's 0.0932 for the last 97 steps, as the pull "
           "request says ('will not changing loss')",
    "measured": {"loss_start": 0.0932, "loss_end": 0.0932, "loss_first": 0.663, "loss_max": 9.08,
                 "best_constant": 0.0932, "end_over_best": 1.0, "dead_step0": 0.3,
                 "dead_end": 1.0, "g_over_w_0_weight_med": 0.0, "g_over_w_2_bias": 4.75e-08},
}
import torch

torch.manual_seed(1)    # reproducible

# fake data
x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)  # x data (tensor), shape=(100, 1)
y = x.pow(2) + 0.2*torch.rand(x.size())  # noisy y data (tensor), shape=(100, 1)


def save():
    # save net1
    net1 = torch.nn.Sequential(
        torch.nn.Linear(1, 10),
        torch.nn.ReLU(),
        torch.nn.Linear(10, 1)
    )
    optimizer = torch.optim.SGD(net1.parameters(), lr=0.5)
    loss_func = torch.nn.MSELoss()

    for t in range(100):
        prediction = net1(x)
        loss = loss_func(prediction, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print('final loss', loss.item())


save()
