"""Lightning-AI/pytorch-lightning issue 9237 "Manual Optimization does not synchronize gradients
in DDP", with the fix the maintainers gave: the same LightningModule (automatic_optimization =
False, Linear(32, 1), squared error against `x[:, 0] > .5`, strategy ddp on two processes) calling
`self.manual_backward(loss)` instead of `loss.backward()`."""
LABEL = {
    "source": "https://github.com/Lightning-AI/pytorch-lightning/issues/9237",
    "question": "With self.manual_backward(loss) instead of loss.backward(), are the DDP "
                "replicas kept in sync under manual optimization?",
    "changes": ["as torch_lightning_manual_opt_backward_ddp (the issue's script, its "
                "configure_optimizers, loader and Trainer completed from the BoringModel "
                "template of the time: SGD(self.layer.parameters(), lr=0.1), "
                "RandomDataset(32, 64), batch_size=2, seed_everything(0), Trainer(max_epochs=1) "
                "with accelerator='cpu', devices=2, strategy='ddp'), with `loss.backward()` -> "
                "`self.manual_backward(loss)` (the documented manual-optimization call)"],
    "pair": "torch_lightning_manual_opt_backward_ddp",
    "framework": "torch",
    "category": "confounder",
    "architecture": "Linear (Lightning Trainer DDP, manual optimization, 2 ranks)",
    "fast": False,
    "expected": [],
    "allowed": ["loss_diverging", "loss_not_decreasing", "exploding_gradient", "loss_spike"],
    "root_cause": None,
    "why": "manual_backward lets Lightning's DDP reducer all-reduce the gradient: both ranks see "
           "the same layer.weight gradient (|g| 5.34 on both at step 0, 4.80 on both at step "
           "15) and keep identical weights (|w| 0.5521 -> 0.6832 -> ... -> 1.1139 on both), "
           "where loss.backward() gave 9.06 vs 4.65 and ended at 3.80 vs 8.96. Not a healthy "
           "fit either: a smoke-test model whose filled-in SGD lr 0.1 on 32-dim N(0,1) inputs "
           "(|x|^2 ~ 34) at batch 2 per rank overshoots, so in its 16 steps the squared error "
           "bounces (window medians 0.18..2.96, 1.50 -> 1.08 on rank 0) and never settles below "
           "the best constant 0.246 (var of the 0/1 target, mean 0.4375); |dw|/|w| 0.72 per step",
    "measured": {"loss_start": 1.5, "loss_end": 1.08, "steps_per_rank": 16,
                 "loss_min_window": 0.18, "loss_max_window": 2.96, "dw_over_w_weight": 0.716,
                 "best_constant": 0.246, "g_step0_rank0": 5.34, "g_step0_rank1": 5.34,
                 "g_step15_rank0": 4.8, "g_step15_rank1": 4.8, "w_norm_end_rank0": 1.114,
                 "w_norm_end_rank1": 1.114,
                 "note": "measure_torch.py measured rank 0 (the main process: Lightning's subprocess launcher) only, rank 1's numbers did not come back; the per-rank |g| and |w| were read with a Callback (on_train_batch_end) around the same program; best constant computed from the dataset's targets (the loss is written by hand, no mse_loss call)"},
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

        self.manual_backward(loss)
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
