"""Lightning-AI/pytorch-lightning issue 9237 "Manual Optimization does not synchronize gradients
in DDP": a LightningModule with automatic_optimization = False whose training_step calls
`loss.backward()` itself (not `self.manual_backward(loss)`), Linear(32, 1), squared error against
`x[:, 0] > .5`, trained with strategy ddp on two processes."""
LABEL = {
    "source": "https://github.com/Lightning-AI/pytorch-lightning/issues/9237",
    "question": "Gradients are not synchronized with manual optimization in DDP: each rank prints "
                "different weights.",
    "changes": ["`pytorch_lightning` -> `lightning.pytorch` (seed_everything from "
                "lightning.pytorch); the weight print of every step dropped",
                "the issue's text (as stored) ends at `optimizer = torch.`: configure_optimizers "
                "completed as the BoringModel template of the time (SGD(self.layer.parameters(), "
                "lr=0.1)), and the loader and Trainer filled in as that template's: "
                "DataLoader(RandomDataset(32, 64), batch_size=2), seed_everything(0), "
                "Trainer(max_epochs=1) with accelerator='cpu', devices=2, strategy='ddp' (gloo) "
                "instead of GPUs; logger, checkpointing, progress bar, summary off"],
    "pair": "torch_lightning_manual_opt_manual_backward_ddp",
    "framework": "torch",
    "category": "positive",
    "architecture": "Linear (Lightning Trainer DDP, manual optimization, 2 ranks)",
    "fast": False,
    "expected": [{"kind": "replicas_diverged", "where": ["layer.weight"]}],
    "allowed": ["loss_diverging", "loss_not_decreasing", "exploding_gradient", "loss_spike"],
    "root_cause": "replicas_diverged",
    "why": "with automatic_optimization=False Lightning turns DDP's backward sync off in the "
           "forward (require_backward_grad_sync=False) and prepares the reducer only in "
           "manual_backward; the plain loss.backward() leaves each rank's gradient local, so "
           "each rank steps on its own half of the data: layer.weight |g| 9.06 vs 4.65 at step 0, "
           "|w| 0.948 vs 0.707 after the first step (identical before it: DDP's broadcast) and "
           "3.80 vs 8.96 after the 16th. Besides, SGD 0.1 on 32-dim N(0,1) inputs at batch 2 "
           "overshoots (lr*|x|^2 ~ 3.2 > 2): the loss bounces 0.26..24.5 on rank 0 and climbs to "
           "81.7 on rank 1 (the lr is the filled-in BoringModel value, see changes)",
    "measured": {"steps_per_rank": 16, "w_norm_after_step0_rank0": 0.948,
                 "w_norm_after_step0_rank1": 0.707, "w_norm_end_rank0": 3.80,
                 "w_norm_end_rank1": 8.96, "grad_norm_step0_rank0": 9.06,
                 "grad_norm_step0_rank1": 4.65, "loss_end_rank0": 1.92, "loss_end_rank1": 81.7,
                 "note": "the main process is rank 0 (Lightning's subprocess launcher), so "
                         "measure_torch.py's replica spread saw only rank 1; norms read with a "
                         "Callback on the same program"},
}
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch import seed_everything
from torch.utils.data import DataLoader, Dataset


class RandomDataset(Dataset):
    def __init__(self, size, num_samples):
        self.len = num_samples
        self.x = torch.randn(num_samples, size)
        self.y = self.x[:, 0] > .5

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def __len__(self):
        return self.len


class BoringModel(LightningModule):

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(32, 1)
        self.automatic_optimization = False

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        opt.zero_grad()
        x, y = batch
        output = self.layer(x)
        loss = (output - y.to(torch.float32)).square().mean()

        loss.backward()
        opt.step()
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.layer.parameters(), lr=0.1)
        return optimizer


if __name__ == "__main__":
    seed_everything(0)
    model = BoringModel()
    trainer = Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp",
                      logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False)
    trainer.fit(model, DataLoader(RandomDataset(32, 64), batch_size=2))
