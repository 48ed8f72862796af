"""The cases of the repair benchmark: which programs of the diagnosis corpora a training-side
repair can address, what a person would change in each, and the healthy programs.

A buggy program is *repairable* when its fault is one of the repair families ``gradsight fix``
can express: the initialization, the learning rate, the optimizer, gradient clipping,
normalization. A missing ``zero_grad()``, a detached tensor, a layer left out of the optimizer,
``log(0)`` in the loss or random labels are not: no setting of those families removes the bug,
only hides a symptom, so those programs are listed in ``EXCLUDED`` with the reason and not run.
Every healthy and confounder program (and the healthy seed) is a ``healthy`` case: ``fix`` must
say "nothing to fix" and try nothing.

``accept``: the repair-name prefixes that make the change a person would make (or its
equivalent). A recommendation matches when its every part starts with one of them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIAGNOSIS = ROOT / "benchmarks" / "diagnosis"
if str(DIAGNOSIS) not in sys.path:  # the label reader of the diagnosis benchmark
    sys.path.insert(0, str(DIAGNOSIS))

from case_labels import load_label, wild_framework  # noqa: E402

IN_HOUSE = DIAGNOSIS / "cases"
WILD = ROOT / "benchmarks" / "wild" / "cases"
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    args: tuple[str, ...] = ()
    positive: bool = True
    person: str = ""  # the change a person would make, in words
    accept: tuple[str, ...] = ()  # repair-name prefixes that make that change
    budget: int | None = None  # steps per trial when the benchmark's default does not fit
    fast: bool = False  # in the quick subset that `make test` runs

    @property
    def corpus(self) -> str:
        return {IN_HOUSE: "in-house", WILD: "wild", EXAMPLES: "seed"}.get(self.path.parent, "?")


LR_DOWN = ("lr:/",)
LR_UP = ("lr:x", "optimizer:adam")
INIT = ("init:",)


def _in(name: str, person: str, accept: tuple[str, ...], **kw: object) -> Case:
    return Case(name, IN_HOUSE / f"{name}.py", person=person, accept=accept,
                **kw)  # type: ignore[arg-type]


def _wild(name: str, person: str, accept: tuple[str, ...], **kw: object) -> Case:
    return Case(name, WILD / f"{name}.py", person=person, accept=accept,
                **kw)  # type: ignore[arg-type]


REPAIRABLE: list[Case] = [
    _in("dead_units_adam_high_lr", "lower Adam's learning rate (0.1 -> 1e-3..1e-2)", LR_DOWN),
    _in("dead_units_batchnorm_negative_shift",
        "drop the constant_(bn1.bias, -5) init (batch norm's default beta is 0)", INIT),
    _in("dead_units_cnn_momentum_overshoot", "lower the learning rate or the momentum 0.99",
        LR_DOWN + ("optimizer:adam",)),
    _in("dead_units_cnn_negative_bias", "drop the -1 bias init of conv1", INIT),
    _in("dead_units_negative_bias", "drop the -6 bias init of the first layer", INIT),
    _in("diverging_adam_lr_1", "lower Adam's learning rate (1.0 -> 1e-3)", LR_DOWN),
    _in("diverging_lr_1e3_typo", "fix the learning-rate typo (1000 -> 0.1 or less)", LR_DOWN),
    _in("exploding_sgd_high_lr_regression", "lower the learning rate below 2/curvature",
        LR_DOWN, fast=True),
    _in("exploding_tanh_rnn_no_clipping", "clip the gradient norm (the RNN idiom)",
        ("clip:",) + LR_DOWN),
    _in("poor_init_cnn_normal1_softmax", "He/Glorot init instead of N(0, 1)", INIT),
    _in("poor_init_normal1_deep_relu", "He init instead of N(0, 1)", INIT),
    _in("poor_init_tiny_tanh_deep", "Glorot init instead of N(0, ~1e-2)", INIT),
    _in("saturated_sigmoid_normal_init", "Glorot init instead of N(0, 1)", INIT),
    _in("saturated_tanh_unscaled_inputs",
        "standardize the inputs (a normalization of the first layer's input)", ("norm:",)),
    _in("stalled_adamw_lr_1e8_transformer", "fix the learning rate (1e-8 -> 1e-4..1e-3)",
        ("lr:x",)),
    _in("stalled_sgd_lr_1e7", "fix the learning rate (1e-7 -> ~0.1)", ("lr:x",)),
    _in("vanishing_deep_sigmoid_mlp",
        "ReLU instead of sigmoid, or normalization / a scaled init", INIT + ("norm:",)),
    _in("vanishing_stacked_lstm_small_init", "PyTorch's default (or Glorot) LSTM init",
        INIT),
    _wild("torch_dlwpt_thermometer_unnormalized",
          "scale the input by 0.1 (the book's fix), or a 100x smaller learning rate",
          LR_DOWN + ("norm:",)),
    _wild("torch_ikmlab_regression", "a larger learning rate (1e-4 is far too small)", LR_UP),
    _wild("torch_iris_tiny_relu", "standardize the Iris features or re-draw the init",
          INIT + ("norm:",)),
    _wild("torch_mnist_sigmoid_mse_mean_output", "a larger learning rate or Adam", LR_UP),
    _wild("torch_stepbystep_regression_exploding", "clip the gradients (the book's fix)",
          ("clip:",) + LR_DOWN),
    _wild("torch_tutorial_ngram_lm", "a larger learning rate or Adam", LR_UP),
    _wild("torch_bentrevett_simple_rnn_sentiment",
          "Adam instead of SGD at 1e-3 (the tutorial's next notebook), or a larger rate", LR_UP),
    _wild("torch_uvadlc_sigmoid_mlp", "ReLU instead of sigmoid (the course's point), or "
          "normalization / a scaled init", INIT + ("norm:",)),
    _wild("torch_rslim_linreg_lr001_diverges",
          "a smaller learning rate (the issue's answer) or standardized inputs",
          LR_DOWN + ("norm:",)),
    _wild("torch_morvan_save_reload_lr05", "the tutorial's smaller learning rate (0.5 -> 0.2)",
          LR_DOWN),
    _wild("torch_courseai_mlp_adam_lr01", "the notebook's smaller learning rate (0.1 -> 0.001)",
          LR_DOWN),
    _wild("torch_morvan_tanh_autoencoder_3d", "a smaller learning rate or normalization before "
          "the Tanh layers", LR_DOWN + ("norm:",)),
    Case("seed_000_001_identity_depth3", EXAMPLES / "seed_000_001_identity.py", ("3",),
         person="Glorot/He init instead of N(0, 1e-3)", accept=INIT),
    Case("seed_003_deep_stack", EXAMPLES / "seed_003_deep_stack.py",
         person="Xavier/LeCun init (std 1/sqrt(100)) instead of N(0, 1)", accept=INIT),
    Case("seed_004_digits_cnn", EXAMPLES / "seed_004_digits_cnn.py", ("--batch-size", "64"),
         person="He/Glorot init instead of N(0, 1)", accept=INIT, budget=100),
]

# Buggy programs no training-side repair addresses, and why (not run).
EXCLUDED: dict[str, str] = {
    "diverging_missing_zero_grad": "a missing zero_grad(): the gradients accumulate",
    "torch_amp_recipe_cpu_gradscaler": "random targets of random inputs (a timing recipe): "
                                       "nothing to learn",
    "loss_flat_random_labels": "the labels are random: the data, not training",
    "no_gradient_argmax_router": "argmax cuts the graph: code",
    "no_gradient_detached_encoder": "a .detach() cuts the graph: code",
    "no_gradient_residual_detached_branch": "a .detach() cuts the graph: code",
    "no_gradient_unused_layer_transformer": "a layer never called: code",
    "nonfinite_division_by_zero": "0/0 in the forward pass: code",
    "nonfinite_log_features_batchnorm": "log of negative features: code",
    "nonfinite_log_softmax_underflow": "log(softmax) instead of log_softmax: code",
    "not_optimized_head_left_out": "a layer left out of the optimizer: code",
    "not_optimized_lr_zero_group": "a param group with lr 0: code (its lr, not the run's)",
    "two_dead_units_and_head_not_optimized": "the head is left out of the optimizer: code",
    "two_unused_layer_and_high_lr": "an unused layer (no_gradient): code",
    "torch_aihwkit_simple_layer_no_zero_grad": "a missing zero_grad(): code",
    "torch_ikmlab_regression_no_zero_grad": "a missing zero_grad(): code",
    "torch_circles_linear_layers": "no nonlinearity: the architecture",
    "torch_circles_linear_v0": "no nonlinearity: the architecture",
    "torch_ddp_unused_module": "a module never called under DDP: code",
    "torch_lightning_basic_gan_ddp2": "DDP stops the job over the parameters a GAN step switches "
                                      "off: a strategy setting (find unused parameters), code",
    "torch_yangkky_mnist_ddp_spawn": "an mp.spawn job: fix's trials run one process",
    "torch_llama_scratch_softmax_ce": "a softmax before cross_entropy: code",
    "torch_dist_tuto_type_check": "a gradient average that never runs, in a multi-process "
                                  "job: code (fix's trials run one process)",
    "torch_lightning_hello_world_relu_logits": "a ReLU on the class scores: the architecture "
                                               "(lr /10 and /100 still kill 4-5 classes)",
    "torch_introdgm_ddgm_list_of_nets": "networks in a plain list, never given to the "
                                        "optimizer: code (nn.ModuleList)",
    "torch_l1_broadcast_deep_relu": "a (N, 1) output against (N,) targets broadcasts: code",
    "torch_ztm_optimizer_wrong_model": "the optimizer built from another model: code",
    "torch_forum148155_broadcast_mse": "a (N, 1) output against (N,) targets broadcasts: code",
    "torch_lightning_manual_opt_backward_ddp": "loss.backward() instead of Lightning's "
                                               "manual_backward under DDP: code (fix's trials "
                                               "run one process)",
    "torch_lstm_softmax_implicit_dim": "softmax over the wrong axis: code",
    "torch_kanezaki_segmentation_conv_list": "layers in a plain list, never given to the "
                                             "optimizer: code (nn.ModuleList)",
    "torch_build_nanogpt_grad_sync_after_forward": "DDP's gradient-sync flag set after the "
                                                   "forward: code (fix's trials run one process)",
    "torch_one_unit_log_softmax_bce": "log_softmax over one unit: code",
    "torch_sotte_backward_loss": "backward(loss) scales every gradient by the loss: code (a "
                                 "clip or a smaller rate only hides it)",
    "seed_002_batchnorm": "a batch norm whose output is never used: code",
    "bad_batch": "one corrupted batch: the data",
    "torch_lightning_readme_autoencoder": "one image per step (the DataLoader's default batch): "
                                          "lr:/10 keeps the ReLUs alive but then learns too "
                                          "little in the 100 steps; the person's fix, a batch, "
                                          "is no repair family",
}

FAST_HEALTHY = {"healthy_mlp_moons"}  # the healthy program of the quick subset

# Healthy programs that start slowly: flat for longer than the benchmark's 300-step trial budget,
# then learning. Their label ("healthy") is a verdict on the whole run, so `fix` judges them with
# a budget of the whole run (a person would run `gradsight fix --budget N` with N their run's
# length); at 300 steps their first steps are a real plateau and `loss_not_decreasing` is true.
WHOLE_RUN: dict[str, int] = {
    "confounder_slow_start_small_init": 3000,  # flat for ~1,000 of its 3,000 steps
    "torch_circles_relu": 1000,  # 1,000 full-batch epochs; the first 300 at the base rate
    "seed_000_001_identity_depth2": 10_000,  # story 000/001, 2 layers: 10,000 steps
}

# Healthy programs that `fix` does not leave alone, and why: listed in the table, not counted as a
# benchmark failure. Each must name a fault outside `gradsight/fix/` (none known today).
KNOWN_HEALTHY: dict[str, str] = {}


def healthy_cases() -> list[Case]:
    """Every healthy and confounder PyTorch program of both corpora, and the healthy seed."""
    out = []
    for folder in (IN_HOUSE, WILD):
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_") or wild_framework(path) not in (None, "torch"):
                continue
            if load_label(path)["category"] != "positive":
                out.append(Case(path.stem, path, positive=False, fast=path.stem in FAST_HEALTHY,
                                budget=WHOLE_RUN.get(path.stem)))
    out.append(Case("seed_000_001_identity_depth2", EXAMPLES / "seed_000_001_identity.py",
                    ("2",), positive=False, budget=WHOLE_RUN["seed_000_001_identity_depth2"]))
    return out


def not_torch() -> list[str]:
    """The wild corpus's Keras and TF1 programs: named in the table, not run."""
    return sorted(p.stem for p in WILD.glob("*.py") if wild_framework(p) in ("keras", "tf1"))


def all_cases(healthy_first: bool = False) -> list[Case]:
    return healthy_cases() + REPAIRABLE if healthy_first else REPAIRABLE + healthy_cases()


def unclassified() -> list[str]:
    """Buggy PyTorch programs in neither REPAIRABLE nor EXCLUDED (a new case must be sorted)."""
    known = {c.name for c in REPAIRABLE} | set(EXCLUDED)
    names = []
    for folder in (IN_HOUSE, WILD):
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_") or wild_framework(path) not in (None, "torch"):
                continue
            if load_label(path)["category"] == "positive" and path.stem not in known:
                names.append(path.stem)
    return names
