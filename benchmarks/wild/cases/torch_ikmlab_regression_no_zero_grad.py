"""IKMLab course_material, PyTorch basics notebook (before commit 17ee919): a 1-10-1 ReLU network
regressing y = 2x^2 + 3x + 17 with MSE and SGD 1e-4, no optimizer.zero_grad() in the loop."""
LABEL = {
    "source": "https://github.com/IKMLab/course_material/issues/3",
    "question": "Missing optimizer.zero_grad in the torch tutorial.",
    "changes": ["the notebook's dataset, model and training cells in one script (the version "
                "before commit 17ee919 'add optimizer.zero_grad')",
                "torch.manual_seed(0); comments translated or dropped; the plot cell dropped"],
    "pair": "torch_ikmlab_regression",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "gradients_not_reset", "where": ["layer2.bias"], "step_max": 2}],
    "allowed": ["loss_diverging",
                "loss_spike",
                "exploding_gradient",
                "loss_not_decreasing",
                "dead_units"],
    "root_cause": "gradients_not_reset",
    "why": "without optimizer.zero_grad() every step applies the sum of all gradients so far "
           "(the first backward after each of the 99 steps finds the previous gradient still "
           "there; gradient norms grow 23-120x): the loss swings, 273 -> 170 -> 0.75 -> 206 -> "
           "2.2 at the epoch ends, instead of descending",
    "measured": {"loss_start": 305.0, "loss_end": 11.0, "stale_grad_steps": 99,
                 "first_stale_step": 1, "grad_growth_layer1_bias": 121.0, "best_constant": 3.49},
}
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import SGD
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)


class MyDataset(Dataset):
    def __init__(self, size):
        self.x = torch.rand(size) * 2 - 1
        self.y = 2 * self.x ** 2 + 3 * self.x + 17

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


def collate_fn(batch):
    x_list = []
    y_list = []

    for x, y in batch:
        x_list.append([x])
        y_list.append([y])

    return [torch.tensor(x_list), torch.tensor(y_list)]


class MyModel(nn.Module):
    def __init__(self, in_dim, hid_dim, out_dim):
        super(MyModel, self).__init__()
        self.layer1 = nn.Linear(in_features=in_dim, out_features=hid_dim)
        self.layer2 = nn.Linear(in_features=hid_dim, out_features=out_dim)

    def forward(self, batch_x):
        h = self.layer1(batch_x)
        a = F.relu(h)
        y = self.layer2(a)
        return y


device = torch.device('cpu')

train_dataset = MyDataset(1000)
test_dataset = MyDataset(500)

batch_size = 50
n_epoch = 5
hid_dim = 10

train_data_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True,
                               collate_fn=collate_fn)
test_data_loader = DataLoader(test_dataset, batch_size=batch_size, shuffle=True,
                              collate_fn=collate_fn)

model = MyModel(in_dim=1, hid_dim=hid_dim, out_dim=1)
model = model.to(device)

criterion = nn.MSELoss()

optimizer = SGD(model.parameters(), lr=0.0001)

for epoch in range(n_epoch):
    for batch_x, batch_y in train_data_loader:
        batch_x = batch_x.to(device)
        batch_y = batch_y.to(device)

        pred_y = model(batch_x)
        loss = criterion(pred_y, batch_y)

        loss.backward()
        optimizer.step()

    with torch.no_grad():
        total_loss = 0
        for batch_x, batch_y in train_data_loader:
            pred_y = model(batch_x.to(device))
            loss = criterion(pred_y, batch_y.to(device))
            total_loss += float(loss) / len(train_data_loader)
        print('Epoch {}, training loss: {}'.format(epoch, total_loss))

        total_loss = 0
        for batch_x, batch_y in test_data_loader:
            pred_y = model(batch_x.to(device))
            loss = criterion(pred_y, batch_y.to(device))
            total_loss += float(loss) / len(test_data_loader)
        print('Epoch {}, testing loss: {}'.format(epoch, total_loss))
