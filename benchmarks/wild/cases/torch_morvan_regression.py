"""MorvanZhou's PyTorch-Tutorial, 301_regression.py: a 1-10-1 ReLU network (Net: hidden,
predict) regressing y = x^2 + 0.2 U(0, 1) on 100 points of [-1, 1] with MSELoss and SGD 0.2 for
200 full-batch steps."""
LABEL = {
    "source": "https://github.com/MorvanZhou/PyTorch-Tutorial/blob/master/tutorial-contents/301_regression.py",
    "question": "The tutorial's first regression network (the same data and network as "
                "304_save_reload.py, whose lr 0.5 PR #31 says does not train).",
    "changes": ["torch.manual_seed(1) (the tutorial's own commented-out line, un-commented)",
                "the live matplotlib plotting dropped"],
    "pair": "torch_morvan_save_reload_lr05",
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (regression)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "the same data and initialization as the lr-0.5 run (seed 1) at SGD 0.2: the loss "
           "falls from 0.66 to 0.0075 in 200 steps, 0.08x the best constant prediction's "
           "0.0932; 3 of the 10 hidden ReLUs are silent on every input from step 0 to the end, "
           "the other 7 fit the parabola",
    "measured": {"loss_start": 0.0812, "loss_end": 0.0075, "loss_first": 0.663,
                 "best_constant": 0.0932, "end_over_best": 0.0804, "dead_hidden_step0": 0.3,
                 "dead_hidden_end": 0.3},
}
import torch
import torch.nn.functional as F

torch.manual_seed(1)    # reproducible

x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)  # x data (tensor), shape=(100, 1)
y = x.pow(2) + 0.2*torch.rand(x.size())                 # noisy y data (tensor), shape=(100, 1)


class Net(torch.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super(Net, self).__init__()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)   # hidden layer
        self.predict = torch.nn.Linear(n_hidden, n_output)   # output layer

    def forward(self, x):
        x = F.relu(self.hidden(x))      # activation function for hidden layer
        x = self.predict(x)             # linear output
        return x


net = Net(n_feature=1, n_hidden=10, n_output=1)     # define the network
print(net)  # net architecture

optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
loss_func = torch.nn.MSELoss()  # this is for regression mean squared loss

for t in range(200):
    prediction = net(x)     # input x and predict based on x

    loss = loss_func(prediction, y)     # must be (1. nn output, 2. target)

    optimizer.zero_grad()   # clear gradients for next train
    loss.backward()         # backpropagation, compute gradients
    optimizer.step()        # apply gradients

    if t % 5 == 0:
        print('Loss=%.4f' % loss.data.numpy())
