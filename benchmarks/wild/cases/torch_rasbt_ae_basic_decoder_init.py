"""rasbt/deeplearning-models, pytorch_ipynb/autoencoder/ae-basic.ipynb: a one-hidden-layer
autoencoder (Linear(784, 32) -> leaky_relu -> Linear(32, 784) -> sigmoid) on MNIST, binary
cross-entropy, Adam 0.005, batches of 256; the DECODER block of __init__ re-initializes linear_1
(normal(0, 0.1), zero bias) a second time instead of linear_2, which keeps PyTorch's default
initialization."""
LABEL = {
    "source": "https://github.com/rasbt/deeplearning-models/pull/82",
    "question": "In the Autoencoder's __init__ the DECODER section initializes self.linear_1's "
                "weights instead of self.linear_2's (a copy-paste bug): the encoder is "
                "initialized twice and the decoder never. Does it matter for training?",
    "changes": ["_data.digits_images (scikit-learn digits resized to 28x28, in [0, 1]) instead "
                "of the torchvision MNIST download; 15 passes over its 1,797 images (8 batches "
                "each, 120 steps) instead of 5 epochs over 60,000 (1,175 steps)",
                "cpu; the watermark cell, the dataset check loop and the evaluation plots "
                "dropped; random_seed 123 kept"],
    "pair": None,
    "framework": "torch",
    "category": "confounder",
    "architecture": "autoencoder (MLP, 32-unit code)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "the copy-paste slip only leaves linear_2 with PyTorch's default uniform(+-1/sqrt(32)) "
           "initialization, a sound one: the run trains. The per-pixel BCE falls from 0.72 at "
           "the first step to 0.39 over the last 12 of 120 steps, below the best constant "
           "image's 0.452 (end/best 0.86) and still falling at the end (the lowest window is the "
           "last); on these blurred, non-binary pixels a perfect reconstruction would still "
           "score 0.323 (the targets' own binary entropy, computed once by hand), so about half "
           "of the reducible loss is gone after 120 steps. Adam moves every tensor 2-9% of its "
           "norm per step, no tensor stalls, no code unit of the 32 is silent (leaky_relu), no "
           "NaN",
    "measured": {"loss_start": 0.651, "loss_end": 0.39, "loss_first": 0.722,
                 "best_constant": 0.452, "end_over_best": 0.862, "min_window": 0.39,
                 "update_over_w_min": 0.0242, "update_over_w_max": 0.0924,
                 "code_silent_last20": 0.0, "steps": 120},
}
import time
import numpy as np
import torch
import torch.nn.functional as F

from _data import batches, digits_images

device = torch.device("cpu")

# Hyperparameters
random_seed = 123
learning_rate = 0.005
num_epochs = 15
batch_size = 256

# Architecture
num_features = 784
num_hidden_1 = 32

images_all, labels_all = digits_images(28)


##########################
### MODEL
##########################

class Autoencoder(torch.nn.Module):

    def __init__(self, num_features):
        super(Autoencoder, self).__init__()

        ### ENCODER
        self.linear_1 = torch.nn.Linear(num_features, num_hidden_1)
        # The following to lones are not necessary,
        # but used here to demonstrate how to access the weights
        # and use a different weight initialization.
        # By default, PyTorch uses Xavier/Glorot initialization, which
        # should usually be preferred.
        self.linear_1.weight.detach().normal_(0.0, 0.1)
        self.linear_1.bias.detach().zero_()

        ### DECODER
        self.linear_2 = torch.nn.Linear(num_hidden_1, num_features)
        self.linear_1.weight.detach().normal_(0.0, 0.1)
        self.linear_1.bias.detach().zero_()

    def forward(self, x):

        ### ENCODER
        encoded = self.linear_1(x)
        encoded = F.leaky_relu(encoded)

        ### DECODER
        logits = self.linear_2(encoded)
        decoded = torch.sigmoid(logits)

        return decoded


torch.manual_seed(random_seed)
model = Autoencoder(num_features=num_features)
model = model.to(device)

optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

start_time = time.time()
for epoch in range(num_epochs):
    for batch_idx, (features, targets) in enumerate(batches(images_all, labels_all, batch_size, seed=epoch)):

        # don't need labels, only the images (features)
        features = features.view(-1, 28*28).to(device)

        ### FORWARD AND BACK PROP
        decoded = model(features)
        cost = F.binary_cross_entropy(decoded, features)
        optimizer.zero_grad()

        cost.backward()

        ### UPDATE MODEL PARAMETERS
        optimizer.step()

        ### LOGGING
        if not batch_idx % 50:
            print('Epoch: %03d/%03d | Batch %03d/%03d | Cost: %.4f'
                  % (epoch+1, num_epochs, batch_idx, 8, cost))

print('Total Training Time: %.2f min' % ((time.time() - start_time)/60))
