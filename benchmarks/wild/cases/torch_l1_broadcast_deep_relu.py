"""pytorch/pytorch issue 63546: an 8-layer, 100-wide ReLU MLP regressing sin(x0 * x1) with
L1Loss and SGD 1e-3; the prediction is (500, 1) and the target d[:, 2] is (500,), so the loss
broadcasts to a 500 x 500 matrix of every prediction against every target."""
LABEL = {
    "source": "https://github.com/pytorch/pytorch/issues/63546",
    "question": "loss not descent, while tensorflow do! Do I code in wrong way?",
    "changes": ["test_torch() as posted, called at the end; the TensorFlow comparison "
                "(test_tf) dropped",
                "5 epochs of the 200 batches instead of 100 epochs; torch.manual_seed(0)"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (ReLU, 8 layers)",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["vanishing_gradient", "stalled_weights", "dead_units", "poor_initialization"],
    "root_cause": None,
    "why": "L1Loss(pred (500, 1), d[:, 2] (500,)) broadcasts to 500 x 500: every prediction is "
           "pulled toward every target, and the best any output can do is the batch median; "
           "the loss starts at the best constant prediction's 0.4135 (the targets' mean "
           "absolute deviation from their median) and ends at 0.413 (0.998 of it) after 1,000 "
           "steps. Besides the bug, the run is also true of what the allowed kinds say: with "
           "PyTorch's default init the activations shrink ~2x per layer (rms 0.71 -> 0.009 at "
           "the output, 7e-4 at the end), 0.weight's |g|/|w| is 5e-7 of the largest tensor's "
           "and its update 4e-10 of its norm per step, and half the units of the last two ReLU "
           "layers are zero for every input from step 0 to the end (the target-shape fix alone "
           "does not learn in 1,000 steps either: 0.4147 -> 0.4127), so no root cause is named",
    "measured": {"loss_start": 0.415, "loss_end": 0.413, "best_constant": 0.414,
                 "end_over_best": 0.998, "g_over_w_layer0_vs_best": 5.44e-07,
                 "update_over_w_layer0": 3.67e-10, "dead_13_end": 0.53, "output_rms_end": 0.000704},
}
import torch

torch.manual_seed(0)


def test_torch():
    import torch
    import torch.nn as nn
    from torch.utils import data
    from torch.utils.data import dataloader

    data = torch.randn(100000, 2)
    y = torch.sin(data[:, 0]*data[:, 1]).unsqueeze(1)
    print(y.shape)
    data = torch.cat([data, y], dim=1)

    model = nn.Sequential(
        nn.Linear(2, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 1)
    )

    for p in model.parameters():
        print(p.shape, p.requires_grad)

    criterion = torch.nn.L1Loss()
    opt = torch.optim.SGD(model.parameters(), 0.001)

    dl = dataloader.DataLoader(data, batch_size=500)
    for epoch in range(5):
        for d in dl:
            pred = model(d[:, :2])
            loss = criterion(pred, d[:, 2])
            opt.zero_grad()
            loss.backward()
            opt.step()
            print("epoch:[{}], loss: {}".format(epoch, loss.item()))


test_torch()
