"""Stack Overflow 73349963: a 4-3-3 ReLU network trained on Iris one sample at a time with SGD
0.1, the features left unscaled (the StandardScaler lines commented out)."""
LABEL = {
    "source": "https://stackoverflow.com/questions/73349963",
    "question": "I use pytorch to train a model to classify iris, but my acc was about 0.4.",
    "changes": ["import lines added (the post shows only the code below them)",
                "torch.manual_seed and numpy's seed fixed (the post seeds nothing; "
                "train_test_split re-splits at random every epoch)",
                "plotting method dropped",
                "reproduction: github.com/mehilshah/Bug_Reproducibility_DL_Bugs Bugs/077"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["0.weight"], "step_max": 10},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["no_gradient", "stalled_weights", "vanishing_gradient"],
    "root_cause": "dead_units",
    "why": "with seed 0 all three hidden ReLUs are negative for every (unscaled, all-positive) "
           "Iris sample from initialization and never fire again in any 20-step window: the "
           "hidden layer passes no gradient (median |g| of 0.weight is 0), only the output bias "
           "learns the class prior, so the loss stays at the best constant prediction's ln 3 "
           "(accuracy 0.38 as in the post)",
    "measured": {"loss_start": 1.1,
                 "loss_end": 1.14,
                 "best_constant": 1.1,
                 "dead_step0": 1.0,
                 "dead_end": 1.0,
                 "grad_0_weight": 0.383,
                 "g_over_w_2_bias": 2.23},
}

import numpy as np
import torch
import torch.nn as nn
from sklearn import datasets
from sklearn.model_selection import train_test_split

torch.manual_seed(0)
np.random.seed(0)


def Iris_Reader(dataset):
    train_data, test_data, train_label, test_label = train_test_split(
        dataset.data, dataset.target, test_size=0.4)

    # scaler = StandardScaler()
    # train_data = scaler.fit_transform(train_data)
    # test_data = scaler.transform(test_data)

    return (torch.FloatTensor(train_data), torch.LongTensor(train_label),
            torch.FloatTensor(test_data), torch.LongTensor(test_label))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()

        # 4*3*3 network
        self.model = nn.Sequential(
            nn.Linear(4, 3),
            nn.ReLU(),

            nn.Linear(3, 3),
        )

        # SGD
        self.optimiser = torch.optim.SGD(self.parameters(), lr=0.1)

        # MSE LOSS_FUNCTION
        self.loss_fn = nn.CrossEntropyLoss()

        self.counter = 0
        self.progress = []

    def forward(self, input):
        return self.model(input)

    def train(self, input, target):
        output = self.forward(input)

        loss = self.loss_fn(output, target)

        self.counter += 1
        self.progress.append(loss.item())

        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()


C = Classifier()
epochs = 10
dataset = datasets.load_iris()

for epoch in range(epochs):
    train_data, train_label, _, _ = Iris_Reader(dataset)
    for i, j in zip(train_data, train_label):
        C.train(i, j)

score = 0
num = 0
_, _, test_data, test_label = Iris_Reader(dataset)
for i, j in zip(test_data, test_label):
    output = C.forward(i).detach().argmax()
    if output == j:
        score += 1
    num += 1
print(score, num, round(score / num, 3))
