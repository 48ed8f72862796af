"""Lightning-AI/tutorials "PyTorch Lightning Basic GAN Tutorial" (lightning_examples/basic-gan):
an MLP generator (100-128-256-512-1024-784, BatchNorm1d(out, 0.8), LeakyReLU, Tanh) and an MLP
discriminator (784-512-256-1, LeakyReLU, Sigmoid) trained with manual optimization
(automatic_optimization=False): two Adam(2e-4, betas (0.5, 0.999)) optimizers, toggle_optimizer /
manual_backward / step / zero_grad / untoggle_optimizer for G then D, BCE on the sigmoid."""
LABEL = {
    "source": "https://github.com/Lightning-AI/tutorials/blob/main/lightning_examples/basic-gan/gan.py",
    "question": "Lightning's own GAN tutorial, written with manual optimization and two "
                "optimizers: does it train?",
    "changes": ["_wild_data.mnist_like (scikit-learn digits blown up to 28x28) normalized with "
                "MNIST's (0.1307, 0.3081) as the tutorial's transform does, instead of the "
                "torchvision MNIST download; batch size 64 (the tutorial's CPU value)",
                "torchvision.utils.make_grid / logger.experiment.add_image image logging "
                "dropped (no torchvision, no TensorBoard); logger, checkpointing, progress bar "
                "and model summary off; the empty validation loop dropped",
                "max_epochs=5 -> limit_train_batches=28, max_epochs=4 (112 G and 112 D steps); "
                "torch.manual_seed(0); `import pytorch_lightning as pl` -> `lightning as pl`"],
    "pair": "torch_lightning_basic_gan_ddp2",
    "framework": "torch",
    "category": "healthy",
    "architecture": "GAN (Lightning manual optimization)",
    "fast": False,
    "expected": [],
    "allowed": ['loss_not_decreasing', 'loss_diverging'],
    "root_cause": None,
    "why": "both players train: the discriminator's BCE falls from 0.66 (ln 2) to 0.25 and the generator's rises to 1.35, an adversarial game early on, not a fault; every generator layer's gradient grows 45-450x from its tiny start as D learns, updates 3e-3..1e-2 of the weights per step (the BatchNorm-fed Linear biases ~1e-9 |g|/|w|, redundant by construction); no dead or saturated units (Tanh output 2% saturated at the end)",
    "measured": {'steps': 112, 'd_loss_end': 0.254, 'g_loss_end': 1.352, 'gen_first_layer_update_ratio': 0.00333, 'gen_grad_growth_min': 17.3, 'disc_first_layer_update_ratio': 0.00876, 'tanh_saturated_end': 0.0225},
}
import lightning as pl
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from _wild_data import mnist_like

BATCH_SIZE = 64


class Generator(nn.Module):
    def __init__(self, latent_dim, img_shape):
        super().__init__()
        self.img_shape = img_shape

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(latent_dim, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(img_shape))),
            nn.Tanh(),
        )

    def forward(self, z):
        img = self.model(z)
        img = img.view(img.size(0), *self.img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self, img_shape):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, img):
        img_flat = img.view(img.size(0), -1)
        validity = self.model(img_flat)
        return validity


class GAN(pl.LightningModule):
    def __init__(self, channels, width, height, latent_dim: int = 100, lr: float = 0.0002,
                 b1: float = 0.5, b2: float = 0.999, batch_size: int = BATCH_SIZE, **kwargs):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        data_shape = (channels, width, height)
        self.generator = Generator(latent_dim=self.hparams.latent_dim, img_shape=data_shape)
        self.discriminator = Discriminator(img_shape=data_shape)
        self.validation_z = torch.randn(8, self.hparams.latent_dim)
        self.example_input_array = torch.zeros(2, self.hparams.latent_dim)

    def forward(self, z):
        return self.generator(z)

    def adversarial_loss(self, y_hat, y):
        return F.binary_cross_entropy(y_hat, y)

    def training_step(self, batch):
        imgs, _ = batch
        optimizer_g, optimizer_d = self.optimizers()
        z = torch.randn(imgs.shape[0], self.hparams.latent_dim)
        z = z.type_as(imgs)

        # train generator
        self.toggle_optimizer(optimizer_g)
        self.generated_imgs = self(z)
        valid = torch.ones(imgs.size(0), 1)
        valid = valid.type_as(imgs)
        g_loss = self.adversarial_loss(self.discriminator(self.generated_imgs), valid)
        self.log("g_loss", g_loss, prog_bar=True)
        self.manual_backward(g_loss)
        optimizer_g.step()
        optimizer_g.zero_grad()
        self.untoggle_optimizer(optimizer_g)

        # train discriminator
        self.toggle_optimizer(optimizer_d)
        valid = torch.ones(imgs.size(0), 1)
        valid = valid.type_as(imgs)
        real_loss = self.adversarial_loss(self.discriminator(imgs), valid)
        fake = torch.zeros(imgs.size(0), 1)
        fake = fake.type_as(imgs)
        fake_loss = self.adversarial_loss(self.discriminator(self.generated_imgs.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2
        self.log("d_loss", d_loss, prog_bar=True)
        self.manual_backward(d_loss)
        optimizer_d.step()
        optimizer_d.zero_grad()
        self.untoggle_optimizer(optimizer_d)

    def configure_optimizers(self):
        lr = self.hparams.lr
        b1 = self.hparams.b1
        b2 = self.hparams.b2
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(b1, b2))
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(b1, b2))
        return [opt_g, opt_d], []


torch.manual_seed(0)
images, labels = mnist_like()
images = (images - 0.1307) / 0.3081
dataset = TensorDataset(torch.from_numpy(images)[:, None], torch.from_numpy(labels))
train_loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
model = GAN(1, 28, 28)
trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=4, limit_train_batches=28,
                     logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False)
trainer.fit(model, train_loader)
print("g_loss", float(trainer.callback_metrics["g_loss"]), "d_loss",
      float(trainer.callback_metrics["d_loss"]))
