"""Lightning-AI/tutorials "Distributed Training with PyTorch Lightning" (lightning_examples/
distributed-training), DDP Example 1: the tutorial's TutorialModule (784-128-10 MLP with a ReLU,
cross_entropy, Adam(lr=1e-4); training_step returns {"loss", "y_hat"}) and MNISTDataModule
(batch 16, a random train/val split) fitted with the DDP strategy, "no code changes required"."""
LABEL = {
    "source": "https://github.com/Lightning-AI/tutorials/blob/main/lightning_examples/distributed-training/scripts/tutorial_model.py",
    "question": "The Lightning distributed-training tutorial's template model on 2 DDP processes: "
                "does it train?",
    "changes": ["Trainer(gpus=4, accelerator='ddp') (Lightning 1.x) -> Trainer(accelerator="
                "'cpu', devices=2, strategy='ddp', max_epochs=3); seed_everything(1) as in the "
                "tutorial's other DDP examples; logger, checkpointing, progress bar and model "
                "summary off; `pytorch_lightning` -> `lightning.pytorch`; torchmetrics "
                "Accuracy(num_classes=10) -> Accuracy(task='multiclass', num_classes=10)",
                "_wild_data.mnist_like normalized with (0.1307, 0.3081) instead of the "
                "torchvision MNIST download: random_split [1597, 200] instead of [55000, 5000] "
                "(50 steps per rank per epoch, 150 in all); the unused test split dropped"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "MLP (Lightning Trainer DDP, 2 ranks)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "trains: cross-entropy 2.10 -> 0.55 over 150 steps on rank 0 (best constant 2.30), "
           "validation accuracy 93% after 3 epochs; Adam 1e-4 moves every parameter 5e-4..2e-3 "
           "of its norm per step; 12% of the hidden ReLU units silent over the last 20 steps "
           "(13% at step 0), not harmful. DDP keeps the replicas identical (Lightning wraps the "
           "module; rank 1's numbers did not come back from its process: the launcher's "
           "measurement ended first)",
    "measured": {"loss_start": 2.1, "loss_end": 0.554, "steps_rank0": 150, "best_constant": 2.3,
                 "dw_over_w_l1": 0.00224, "dw_over_w_l2": 0.00117, "dw_over_w_l2_bias": 0.000514,
                 "l2_input_zero_last20": 0.117, "val_acc_rank0": 0.93},
}
import torch
import torch.nn.functional as F
from lightning.pytorch import LightningDataModule, LightningModule, Trainer, seed_everything
from torch.utils.data import DataLoader, TensorDataset, random_split
from torchmetrics import Accuracy

from _wild_data import mnist_like


class MNISTDataModule(LightningDataModule):

    def __init__(self, data_dir: str = "./", batch_size: int = 16):
        super().__init__()
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.dims = (1, 28, 28)
        self.num_classes = 10

    def prepare_data(self):
        # only downloads the data once
        pass

    def setup(self, stage=None):
        if stage == 'fit' or stage is None:
            images, labels = mnist_like()
            images = (torch.from_numpy(images)[:, None] - 0.1307) / 0.3081
            mnist_full = TensorDataset(images, torch.from_numpy(labels))
            self.mnist_train, self.mnist_val = random_split(mnist_full, [1597, 200])

    def train_dataloader(self):
        return DataLoader(self.mnist_train, batch_size=self.batch_size)

    def val_dataloader(self):
        return DataLoader(self.mnist_val, batch_size=self.batch_size)


class TutorialModule(LightningModule):

    def __init__(
        self,
        hidden_dim: int = 128,
        learning_rate: float = 0.0001,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.l1 = torch.nn.Linear(28 * 28, self.hparams.hidden_dim)
        self.l2 = torch.nn.Linear(self.hparams.hidden_dim, 10)
        self.val_accuracy = Accuracy(task="multiclass", num_classes=10)
        self.test_accuracy = Accuracy(task="multiclass", num_classes=10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        x = torch.relu(self.l1(x))
        x = self.l2(x)
        return x

    def training_step(self, batch, batch_idx):
        x, y = batch
        y_hat = self(x)
        loss = F.cross_entropy(y_hat, y)
        return {"loss": loss, "y_hat": y_hat.detach()}

    def validation_step(self, batch, batch_idx):
        x, y = batch
        prob = F.softmax(self(x), dim=1)
        pred = torch.argmax(prob, dim=1)
        self.log("val_acc", self.val_accuracy(pred, y), prog_bar=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        prob = F.softmax(self(x), dim=1)
        pred = torch.argmax(prob, dim=1)
        self.log("test_acc", self.test_accuracy(pred, y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)


if __name__ == "__main__":
    seed_everything(1)
    model = TutorialModule()
    datamodule = MNISTDataModule()

    trainer = Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        max_epochs=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=datamodule)
    print("val_acc", float(trainer.callback_metrics["val_acc"]))
