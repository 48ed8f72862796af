"""Lightning-AI/pytorch-lightning examples/app_components/python/pl_script.py: Lightning's own
BoringModel (Linear(32, 2), MSE against ones, SGD(lr=0.1) with StepLR, RandomDataset(32, 64) with
batch size 1) fitted with Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp"),
then validate / test / predict."""
LABEL = {
    "source": "https://github.com/Lightning-AI/pytorch-lightning/blob/master/examples/app_components/python/pl_script.py",
    "question": "Lightning's BoringModel smoke test on 2 CPU DDP processes: does it train?",
    "changes": ["`from pytorch_lightning import ...` -> `lightning.pytorch`; seed_everything(0); "
                "logger, checkpointing, progress bar and model summary off"],
    "pair": None,
    "framework": "torch",
    "category": "confounder",
    "architecture": "Linear (Lightning Trainer DDP, 2 ranks)",
    "fast": False,
    "expected": [],
    "allowed": ["loss_diverging", "loss_not_decreasing", "exploding_gradient", "loss_spike"],
    "root_cause": None,
    "why": "a smoke-test model with an arbitrary loss (MSE of a Linear(32,2) to ones, batch 1): "
           "SGD lr 0.1 on 32-dim N(0,1) inputs is a per-sample step lr*|x|^2 ~ 3.2 > 2, so the "
           "loss bounces (window medians 0.18..1.6, max 8.6; 0.71 -> 0.55) and |dw|/|w| is "
           "0.39 per step; no fault a user would need told, nor a healthy fit",
    "measured": {"steps_per_rank": 32, "loss_first": 0.711, "loss_end": 0.548,
                 "loss_max": 8.57, "dw_over_w_weight": 0.39, "grad_growth": 3.07},
}
from lightning.pytorch import Trainer, seed_everything
from lightning.pytorch.demos.boring_classes import BoringModel

if __name__ == "__main__":
    seed_everything(0)
    model = BoringModel()
    trainer = Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp",
                      logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False)
    trainer.fit(model)
    trainer.validate(model)
    trainer.test(model)
    trainer.predict(model)
