"""brennancheung/CourseAI notebook 6-1-3 "Variational Autoencoders": a conv autoencoder
(Conv2d 1-16-32 stride 2, Linear to a 2-d code, Linear + ConvTranspose2d back, Sigmoid) trained
with summed MSE / batch, then the VAE made from it (fc_mu and fc_logvar heads, the
reparameterization trick, summed MSE + KL divergence, normalized by the batch size), each with
Adam 1e-3 and batches of 128."""
LABEL = {
    "source": "https://github.com/brennancheung/CourseAI/blob/main/notebooks/6-1-3-variational-autoencoders.ipynb",
    "question": "A course's conv VAE with a 2-d latent space (and the plain autoencoder trained "
                "before it for comparison): do both train?",
    "changes": ["_wild_data.mnist_like (scikit-learn digits blown up to 28x28, ink in [0, 1]) "
                "instead of the torchvision Fashion-MNIST download (transforms.ToTensor(): "
                "[0, 1], 28x28)",
                "the TODOs filled with the notebook's solution: kl_loss = -0.5 * "
                "torch.sum(1 + logvar - mu.pow(2) - logvar.exp()); loss = (recon_loss + "
                "kl_loss) / batch_size, as the TODO's 'normalize by batch size' and the loop's "
                "loss.item() * batch_size say",
                "10 and 20 epochs kept (15 batches each: 1,797 images instead of 60,000); the plots, latent-space "
                "comparison and generation cells dropped; torch.manual_seed(42) kept"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "conv autoencoder + VAE",
    "fast": False,
    "expected": [],
    "allowed": ['loss_not_decreasing'],
    "root_cause": None,
    "why": "both models learn: the autoencoder's summed MSE per image goes 118.6 -> 42.5 in 150 steps (the mean image's is 42.2: a 2-d code on 15 batches an epoch gets about that far), the VAE's reconstruction 120.7 -> 37.5 in 300 steps (0.89 of the mean image's) with KL settling at 3.4; pooled per-element MSE at the end 0.048 against the best constant's 0.054; the autoencoder's decoder.1 ReLU has 48% of its 1,568 units silent from initialization on (a minority-of-a-layer story: the loss keeps falling)",
    "measured": {'ae_loss_start': 118.6, 'ae_loss_end': 42.46, 'vae_recon_start': 120.7, 'vae_recon_end': 37.45, 'mean_image_loss': 42.24, 'end_over_best': 0.898, 'vae_kl_end': 3.4, 'decoder_relu_dead_end': 0.479, 'steps': 450},
}
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from _wild_data import mnist_like

torch.manual_seed(42)
np.random.seed(42)
device = torch.device("cpu")

images, labels = mnist_like()
train_dataset = TensorDataset(torch.from_numpy(images)[:, None], torch.from_numpy(labels))
train_loader = DataLoader(train_dataset, batch_size=128, shuffle=True)

LATENT_DIM = 2


class Autoencoder(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z)


def train_autoencoder(model, train_loader, num_epochs=10, lr=1e-3):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for epoch in range(num_epochs):
        epoch_loss = 0
        for images, _ in train_loader:
            images = images.to(device)
            recon = model(images)
            loss = F.mse_loss(recon, images, reduction='sum') / images.size(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
        avg_loss = epoch_loss / len(train_loader)
        losses.append(avg_loss)
        print(f"  AE epoch {epoch+1}/{num_epochs}, Loss: {avg_loss:.4f}")
    return losses


ae_model = Autoencoder(LATENT_DIM).to(device)
ae_losses = train_autoencoder(ae_model, train_loader, num_epochs=10)


class VAE(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM):
        super().__init__()
        self.encoder_conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.fc_mu = nn.Linear(32 * 7 * 7, latent_dim)
        self.fc_logvar = nn.Linear(32 * 7 * 7, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid(),
        )

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + std * eps

    def forward(self, x):
        h = self.encoder_conv(x)
        mu = self.fc_mu(h)
        logvar = self.fc_logvar(h)
        z = self.reparameterize(mu, logvar)
        recon = self.decoder(z)
        return recon, mu, logvar

    def decode(self, z):
        return self.decoder(z)


def train_vae(model, train_loader, num_epochs=10, lr=1e-3):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = {'total': [], 'recon': [], 'kl': []}
    for epoch in range(num_epochs):
        epoch_total, epoch_recon, epoch_kl = 0, 0, 0
        for images, _ in train_loader:
            images = images.to(device)
            recon, mu, logvar = model(images)
            recon_loss = F.mse_loss(recon, images, reduction='sum')
            kl_loss = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (recon_loss + kl_loss) / images.size(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_size = images.size(0)
            epoch_total += loss.item() * batch_size
            epoch_recon += recon_loss.item()
            epoch_kl += kl_loss.item()
        n = len(train_loader.dataset)
        history['total'].append(epoch_total / n)
        history['recon'].append(epoch_recon / n)
        history['kl'].append(epoch_kl / n)
        print(f"  VAE epoch {epoch+1}/{num_epochs} | Total: {history['total'][-1]:.4f} | "
              f"Recon: {history['recon'][-1]:.4f} | KL: {history['kl'][-1]:.4f}")
    return history


vae_model = VAE(LATENT_DIM).to(device)
vae_history = train_vae(vae_model, train_loader, num_epochs=20)
