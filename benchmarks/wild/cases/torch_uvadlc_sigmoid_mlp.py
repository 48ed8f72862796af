"""UvA Deep Learning tutorial 3 (Activation Functions): the 784-512-256-256-128-10 BaseNetwork
with the tutorial's own Sigmoid module (1 / (1 + exp(-x))), SGD 1e-2 momentum 0.9, batch 256."""
LABEL = {
    "source": "https://github.com/phlippe/uvadlc_notebooks/blob/master/docs/tutorial_notebooks/tutorial3/Activation_Functions.ipynb",
    "question": "Why does the sigmoid network of the tutorial stay at 10% test accuracy while "
                "tanh/ReLU reach 88% (uvadlc_notebooks issue 119)?",
    "changes": ["scikit-learn's digits resized to 28x28 and normalized to [-1, 1] instead of the"
                " FashionMNIST download (1,497 train / 300 validation images)",
                "at most 25 epochs instead of 50 (early stopping with patience 7 kept); "
                "checkpoint files, tqdm and plots dropped; cpu"],
    "pair": "torch_uvadlc_relu_mlp",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (custom sigmoid module)",
    "fast": False,
    "expected": [{"kind": "vanishing_gradient", "where": ["layers.0.weight"], "step_max": 10},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights", "poor_initialization"],
    "root_cause": "vanishing_gradient",
    "why": "each sigmoid layer (derivative <= 0.25) shrinks the backward signal ~5x: |g|/|w| "
           "falls from 0.25 at the output layer to 8e-5 at layers.0 (1e-4 of it), whose weights "
           "move 5e-6 of their norm per step; the loss stays at the best constant prediction's "
           "ln 10 until early stopping at epoch 8 (accuracy 10%, as in the tutorial)",
    "measured": {"loss_start": 2.36, "loss_end": 2.31, "best_constant": 2.3,
                 "g_over_w_layer0_vs_last": 9.99e-05, "update_over_w_layer0": 4.72e-06,
                 "saturated_med": 0.0},
}
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data as data

from _data import digits_images

ACT_FN = "sigmoid"


def set_seed(seed):
    np.random.seed(seed)
    torch.manual_seed(seed)


set_seed(42)


class ActivationFunction(nn.Module):

    def __init__(self):
        super().__init__()
        self.name = self.__class__.__name__
        self.config = {"name": self.name}


class Sigmoid(ActivationFunction):

    def forward(self, x):
        return 1 / (1 + torch.exp(-x))


class ReLU(ActivationFunction):

    def forward(self, x):
        return x * (x > 0).float()


act_fn_by_name = {"sigmoid": Sigmoid, "relu": ReLU}


class BaseNetwork(nn.Module):

    def __init__(self, act_fn, input_size=784, num_classes=10, hidden_sizes=[512, 256, 256, 128]):
        super().__init__()

        # Create the network based on the specified hidden sizes
        layers = []
        layer_sizes = [input_size] + hidden_sizes
        for layer_index in range(1, len(layer_sizes)):
            layers += [nn.Linear(layer_sizes[layer_index - 1], layer_sizes[layer_index]),
                       act_fn]
        layers += [nn.Linear(layer_sizes[-1], num_classes)]
        self.layers = nn.Sequential(*layers)

        self.config = {"act_fn": act_fn.config, "input_size": input_size,
                       "num_classes": num_classes, "hidden_sizes": hidden_sizes}

    def forward(self, x):
        x = x.view(x.size(0), -1)  # Reshape images to a flat vector
        out = self.layers(x)
        return out


images, labels = digits_images(28)
images = (images - 0.5) / 0.5  # transforms.Normalize((0.5,), (0.5,))
train_dataset = data.TensorDataset(images, labels)
train_set, val_set = torch.utils.data.random_split(train_dataset, [1497, 300])
val_loader = data.DataLoader(val_set, batch_size=1024, shuffle=False, drop_last=False)


def test_model(net, data_loader):
    net.eval()
    true_preds, count = 0., 0
    for imgs, labels in data_loader:
        with torch.no_grad():
            preds = net(imgs).argmax(dim=-1)
            true_preds += (preds == labels).sum().item()
            count += labels.shape[0]
    test_acc = true_preds / count
    return test_acc


def train_model(net, model_name, max_epochs=25, patience=7, batch_size=256):
    # Defining optimizer, loss and data loader
    optimizer = optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)  # Default parameters
    loss_module = nn.CrossEntropyLoss()
    train_loader_local = data.DataLoader(train_set, batch_size=batch_size, shuffle=True,
                                         drop_last=True)

    val_scores = []
    best_val_epoch = -1
    for epoch in range(max_epochs):
        net.train()
        true_preds, count = 0., 0
        for imgs, labels in train_loader_local:
            optimizer.zero_grad()  # Zero-grad can be placed anywhere before "loss.backward()"
            preds = net(imgs)
            loss = loss_module(preds, labels)
            loss.backward()
            optimizer.step()
            # Record statistics during training
            true_preds += (preds.argmax(dim=-1) == labels).sum()
            count += labels.shape[0]
        train_acc = true_preds / count

        val_acc = test_model(net, val_loader)
        val_scores.append(val_acc)
        print(f"[Epoch {epoch+1:2d}] Training accuracy: {train_acc*100.0:05.2f}%, "
              f"Validation accuracy: {val_acc*100.0:05.2f}%")

        if len(val_scores) == 1 or val_acc > val_scores[best_val_epoch]:
            best_val_epoch = epoch
        elif best_val_epoch <= epoch - patience:
            print(f"Early stopping due to no improvement over the last {patience} epochs")
            break


print(f"Training BaseNetwork with {ACT_FN} activation...")
set_seed(42)
act_fn = act_fn_by_name[ACT_FN]()
net_actfn = BaseNetwork(act_fn=act_fn)
train_model(net_actfn, f"FashionMNIST_{ACT_FN}")
