"""Lightning-AI/tutorials "Introduction to PyTorch Lightning" (mnist-hello-world/hello-world.py),
its "Simplest example": MNISTModel, one Linear(784, 10) whose outputs go through torch.relu before
F.cross_entropy, Adam(lr=0.02), batch 64 (its CPU value), Trainer(max_epochs=3)."""
LABEL = {
    "source": "https://github.com/Lightning-AI/tutorials/blob/main/lightning_examples/mnist-hello-world/hello-world.py",
    "question": "Lightning's hello-world MNIST model (a ReLU on the class logits, Adam 0.02): "
                "does it train?",
    "changes": ["_wild_data.mnist_like (scikit-learn digits blown up to 28x28, [0, 1] like "
                "ToTensor) instead of the torchvision MNIST download (1797 images: 29 steps per "
                "epoch, 87 in all)",
                "torch.manual_seed(0); logger, checkpointing, progress bar and model summary "
                "off; the tutorial's later LitMNIST sections, pandas/seaborn display dropped"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "Linear + ReLU on logits (Lightning)",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["l1.weight"]}],
    "allowed": [],
    "root_cause": "dead_units",
    "why": "forward() puts the class logits through torch.relu, so a class whose pre-activation "
           "turns negative for every image outputs 0 and gets no gradient again: after the "
           "first Adam(0.02) steps 4 of the 10 outputs (classes 0, 3, 4, 6) are zero for every "
           "input from step 1 or 2 on, class 8 from step 52; over the last 20 steps 5 of 10 are "
           "silent for every input, and after training for every one of the 1,797 images "
           "(checked by hand with a plain forward hook on l1). Classes 3, 4, 6 and 8 are never "
           "predicted (0% recall; class 0 wins the all-zero ties), accuracy 57%; the "
           "cross-entropy stops at 1.42 (min window 1.28) against a best constant 2.30",
    "measured": {"loss_start": 1.96, "loss_end": 1.42, "steps": 87, "best_constant": 2.3,
                 "loss_min_window": 1.28, "dw_over_w_weight": 0.0708, "dead_outputs_last20": 5,
                 "dead_outputs_step0": 1, "dead_outputs_after_training": 5,
                 "accuracy_after": 0.568},
}
import torch
import lightning as L
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from _wild_data import mnist_like

BATCH_SIZE = 256 if torch.cuda.is_available() else 64


class MNISTModel(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.l1 = torch.nn.Linear(28 * 28, 10)

    def forward(self, x):
        return torch.relu(self.l1(x.view(x.size(0), -1)))

    def training_step(self, batch, batch_nb):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.02)


torch.manual_seed(0)
# Init our model
mnist_model = MNISTModel()

# Init DataLoader from MNIST Dataset
images, labels = mnist_like()
train_ds = TensorDataset(torch.from_numpy(images)[:, None], torch.from_numpy(labels))
train_loader = DataLoader(train_ds, batch_size=BATCH_SIZE)

# Initialize a trainer
trainer = L.Trainer(
    accelerator="auto",
    devices=1,
    max_epochs=3,
    logger=False, enable_checkpointing=False, enable_progress_bar=False,
    enable_model_summary=False,
)

# Train the model ⚡
trainer.fit(mnist_model, train_loader)

