"""Lightning's README example: LitAutoEncoder (a 784-128-3 encoder and a 3-128-784 decoder with
ReLUs), MSE reconstruction, Adam 1e-3, a DataLoader of single images (its default batch size),
Trainer(limit_train_batches=100, max_epochs=1)."""
LABEL = {
    "source": "https://github.com/Lightning-AI/pytorch-lightning/blob/master/README.md",
    "question": "Lightning's own first example: an MNIST autoencoder trained with trainer.fit.",
    "changes": ["scikit-learn's digits blown up to 28x28 (_wild_data.mnist_like) instead of the "
                "torchvision MNIST download",
                "torch.manual_seed(0); the Trainer's checkpointing, logger, progress bar and "
                "model summary turned off (no files, no console noise); the example's "
                "encoder/decoder checkpoint loading and inference after fit dropped"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "autoencoder (Lightning)",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["encoder.0.weight"]}],
    "allowed": ["loss_not_decreasing", "stalled_weights"],
    "root_cause": "dead_units",
    "why": "one image per step at Adam 1e-3: over the 100 steps the encoder's first ReLU layer "
           "goes from 44% to 69% of its 128 units silent for every input the last 20 steps "
           "saw; after training 58% are silent for every one of the 1,797 images (checked "
           "once by hand over the whole set), so the 3-number code is made from half a layer. "
           "The loss ends at 0.94x the best constant prediction's (the mean image): it learned "
           "little beyond the mean, which the label allows but does not require",
    "measured": {"loss_start": 0.154, "loss_end": 0.0498, "best_constant": 0.0529,
                 "end_over_best": 0.941, "encoder_relu_silent_last20": 0.688,
                 "encoder_relu_silent_step0": 0.438},
}
import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from _wild_data import mnist_like


class LitAutoEncoder(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 3))
        self.decoder = nn.Sequential(nn.Linear(3, 128), nn.ReLU(), nn.Linear(128, 28 * 28))

    def training_step(self, batch, batch_idx):
        x, _ = batch
        x = x.view(x.size(0), -1)
        z = self.encoder(x)
        x_hat = self.decoder(z)
        loss = F.mse_loss(x_hat, x)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


torch.manual_seed(0)
images, labels = mnist_like()
dataset = TensorDataset(torch.from_numpy(images)[:, None], torch.from_numpy(labels))
train_loader = DataLoader(dataset)
autoencoder = LitAutoEncoder()
trainer = L.Trainer(limit_train_batches=100, max_epochs=1, enable_checkpointing=False,
                    logger=False, enable_progress_bar=False, enable_model_summary=False)
trainer.fit(model=autoencoder, train_dataloaders=train_loader)
