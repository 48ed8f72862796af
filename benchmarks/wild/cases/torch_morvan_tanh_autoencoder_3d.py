"""MorvanZhou/PyTorch-Tutorial, 404_autoencoder.py: a deep Tanh autoencoder of MNIST digits
(784-128-64-12-3 encoder, 3-12-64-128-784 decoder with a Sigmoid output, Tanh between layers, a
linear 3-number code), MSELoss against the input, Adam 0.005, batches of 64, 10 epochs."""
LABEL = {
    "source": "https://github.com/MorvanZhou/PyTorch-Tutorial/blob/master/tutorial-contents/404_autoencoder.py",
    "question": "The tutorial's autoencoder that squeezes MNIST through a 3-number code between "
                "Tanh layers: does it train?",
    "changes": ["_data.digits_images (scikit-learn digits resized to 28x28, in [0, 1]) instead "
                "of the torchvision MNIST download; 15 passes over its 1,797 images (29 batches "
                "each, 435 steps) instead of 10 epochs over 60,000 (9,380 steps)",
                "Variable and loss.data[0] -> tensors and loss.item(); the matplotlib "
                "reconstruction and 3-D code plots dropped; torch.manual_seed(1) kept"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "autoencoder (deep Tanh MLP, 3-number code)",
    "fast": False,
    "expected": [{"kind": "saturated_activation", "where": ["encoder.0.weight", "encoder.2.weight"]}],
    "allowed": ["vanishing_gradient"],
    "root_cause": "saturated_activation",
    "why": "Adam 0.005 moves each of encoder.0's 784x128 weights ~1% of the tensor's norm per "
           "step, and the pre-activations of the first Tanh grow from rms 0.29 to 8.3: the "
           "first encoder Tanh goes from 0% to 96% (median over the run) and 97.5% (end) of its "
           "outputs saturated (|tanh| > 0.99), the second from 0% to 73-75% (its input rms 0.15 -> 3.8). Behind "
           "the saturated units the gradient is cut: encoder.0.weight gets |g|/|w| ~1.3e-4, "
           "0.011x the best-fed tensor's, encoder.2.weight 0.063x, so the first layers are "
           "driven by Adam's normalization of near-zero gradients rather than by the loss. The "
           "reconstruction still improves through the rest of the network: MSE 0.142 at the "
           "first step, 0.050 over the first 10% (above the best constant image's 0.047) and "
           "0.027 over the last 10% (end/best 0.58); no NaN, no silent Linear input",
    "measured": {"loss_start": 0.0502, "loss_end": 0.027, "loss_first": 0.142,
                 "tanh1_saturated_init": 0.0, "tanh1_saturated_med": 0.96,
                 "tanh1_saturated_end": 0.975, "tanh2_saturated_end": 0.747,
                 "enc0_preact_rms_end": 8.25, "enc0_w_g_over_w": 0.000132,
                 "enc0_w_vs_best": 0.0112, "enc2_w_vs_best": 0.0629, "best_constant": 0.0467,
                 "end_over_best": 0.577, "steps": 435},
}
import torch
import torch.nn as nn

from _data import batches, digits_images

torch.manual_seed(1)    # reproducible

# Hyper Parameters
EPOCH = 15
BATCH_SIZE = 64
LR = 0.005         # learning rate

images_all, labels_all = digits_images(28)


class AutoEncoder(nn.Module):
    def __init__(self):
        super(AutoEncoder, self).__init__()

        self.encoder = nn.Sequential(
            nn.Linear(28*28, 128),
            nn.Tanh(),
            nn.Linear(128, 64),
            nn.Tanh(),
            nn.Linear(64, 12),
            nn.Tanh(),
            nn.Linear(12, 3),   # compress to 3 features which can be visualized in plt
        )
        self.decoder = nn.Sequential(
            nn.Linear(3, 12),
            nn.Tanh(),
            nn.Linear(12, 64),
            nn.Tanh(),
            nn.Linear(64, 128),
            nn.Tanh(),
            nn.Linear(128, 28*28),
            nn.Sigmoid(),       # compress to a range (0, 1)
        )

    def forward(self, x):
        encoded = self.encoder(x)
        decoded = self.decoder(encoded)
        return encoded, decoded


autoencoder = AutoEncoder()

optimizer = torch.optim.Adam(autoencoder.parameters(), lr=LR)
loss_func = nn.MSELoss()

for epoch in range(EPOCH):
    for step, (x, y) in enumerate(batches(images_all, labels_all, BATCH_SIZE, seed=epoch)):
        b_x = x.view(-1, 28*28)   # batch x, shape (batch, 28*28)
        b_y = x.view(-1, 28*28)   # batch y, shape (batch, 28*28)
        b_label = y               # batch label

        encoded, decoded = autoencoder(b_x)

        loss = loss_func(decoded, b_y)      # mean square error
        optimizer.zero_grad()               # clear gradients for this training step
        loss.backward()                     # backpropagation, compute gradients
        optimizer.step()                    # apply gradients

        if step % 10 == 0:
            print('Epoch: ', epoch, '| train loss: %.4f' % loss.item())
