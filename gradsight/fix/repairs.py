"""The repairs ``gradsight fix`` tries. Each family is one small class that says which finding
kinds it targets, whether it applies to the model seen in the baseline, how it installs itself
through hooks in a trial process (never by editing the user's file), and the exact code change
a person would make to keep it.

Hooks used: a one-shot global forward pre-hook (the model's first forward, before any update:
re-initialization, LSUV, normalization, qk-layernorm around ``F.scaled_dot_product_attention``),
global optimizer step pre-hooks (learning rate, clipping), and replacing ``torch.optim.SGD``
(optimizer swap) or ``F.cross_entropy`` (z-loss) right after torch is imported.
"""

from __future__ import annotations

import gc
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from .reinit import NORM_RESET_CODE, lsuv, reset_norms

INIT_KINDS = frozenset({
    "vanishing_gradient", "poor_initialization", "stalled_weights", "dead_units",
    "saturated_activation", "exploding_gradient", "nonfinite", "loss_not_decreasing",
})
STABILITY_KINDS = frozenset({"attention_logit_growth", "output_logit_divergence", "update_spike"})
BLOWUP_KINDS = frozenset({"exploding_gradient", "loss_diverging", "nonfinite"}) | STABILITY_KINDS
SLOW_KINDS = frozenset({"vanishing_gradient", "stalled_weights", "loss_not_decreasing"})
RELU = ("relu", "leaky_relu", "gelu", "elu", "silu", "mish")


@dataclass(frozen=True)
class ModelInfo:
    """What the baseline run showed about the model (from its store's entities)."""

    activations: dict[str, str | None]  # weight layer module -> activation that follows it
    optimizers: list[str]
    linear_layers: int

    @property
    def has_relu(self) -> bool:
        return any(a in RELU for a in self.activations.values())

    @property
    def has_saturating(self) -> bool:
        return any(a in ("tanh", "sigmoid") for a in self.activations.values())


class Repair:
    """One repair. ``name`` starts with its family (``init:``, ``optimizer:``, ...)."""

    name = ""
    targets: frozenset[str] = frozenset()

    def applies(self, info: ModelInfo) -> bool:
        return True

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        raise NotImplementedError

    def code(self) -> str:
        raise NotImplementedError


class Init(Repair):
    """Re-draw every weight layer with one scheme at the model's first forward."""

    def __init__(self, scheme: str, bias: float = 0.0) -> None:
        self.scheme, self.bias = scheme, bias
        self.name = f"init:{scheme}" + (f"+bias{bias:g}" if bias else "")
        self.targets = INIT_KINDS

    def applies(self, info: ModelInfo) -> bool:
        if self.scheme == "he":
            return info.has_relu if not self.bias else info.has_relu
        if self.scheme == "lecun":
            return info.has_saturating
        return True

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        from ..adapters.torch.init import init_model

        def reinit(root: Any, args: Any, kwargs: Any) -> None:
            init_model(root, self.scheme, ctx.activations, self.bias)
            reset_norms(torch, root)

        ctx.on_first_forward(reinit)

    def code(self) -> str:
        weight = {
            "he": 'torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")',
            "xavier": "torch.nn.init.xavier_uniform_(m.weight)  # gain calculate_gain('tanh') "
                      "before tanh",
            "lecun": 'torch.nn.init.kaiming_normal_(m.weight, nonlinearity="linear")  # LeCun',
            "auto": "# He before ReLU, Xavier otherwise",
        }[self.scheme]
        bias = f"torch.nn.init.constant_(m.bias, {self.bias:g})" if self.bias else \
            "torch.nn.init.zeros_(m.bias)"
        return ("for m in model.modules():\n"
                "    if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)):\n"
                f"        {weight}\n"
                f"        if m.bias is not None: {bias}\n"
                f"{NORM_RESET_CODE}")


class LSUV(Repair):
    """Layer-sequential unit variance (Mishkin & Matas 2016): orthogonal weights, then each
    layer in turn scaled so its output has unit variance on the first batch."""

    name = "init:lsuv"
    targets = INIT_KINDS

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        def reinit(root: Any, args: Any, kwargs: Any) -> None:
            reset_norms(torch, root)  # first: the unit-variance scaling sees the norms' output
            lsuv(torch, root, args, kwargs)

        ctx.on_first_forward(reinit)

    def code(self) -> str:
        return (
            "def lsuv(model, x, tol=0.05, rounds=5):  # x: one training batch\n"
            "    layers = [m for m in model.modules()\n"
            "              if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]\n"
            "    for m in layers:\n"
            "        torch.nn.init.orthogonal_(m.weight)\n"
            "        if m.bias is not None: torch.nn.init.zeros_(m.bias)\n"
            "    with torch.no_grad():\n"
            "        for m in layers:\n"
            "            for _ in range(rounds):\n"
            "                stds = []\n"
            "                hook = m.register_forward_hook(\n"
            "                    lambda mod, i, o: stds.append(o.std()))\n"
            "                model(x); hook.remove()\n"
            "                if abs(stds[0] - 1) < tol: break\n"
            "                m.weight /= stds[0]\n"
            "\n"
            "lsuv(model, x)  # after building the model, before the optimizer's first step\n"
            f"{NORM_RESET_CODE}"
        )


class Adam(Repair):
    """Adam (lr 1e-3) instead of SGD: per-parameter step sizes do not care about the
    gradient's scale, so a layer whose gradients are 1000x smaller still moves."""

    name = "optimizer:adam"
    targets = SLOW_KINDS | frozenset({"poor_initialization", "dead_units"})

    def applies(self, info: ModelInfo) -> bool:
        return "SGD" in info.optimizers

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        base = torch.optim.Adam

        class AdamInsteadOfSGD(base):  # type: ignore[misc, valid-type]
            def __init__(self, params: Any, lr: Any = 1e-3, *args: Any, **kwargs: Any) -> None:
                super().__init__(params, lr=1e-3, weight_decay=kwargs.get("weight_decay", 0))

        torch.optim.SGD = AdamInsteadOfSGD  # what `torch.optim.SGD(...)` and `from torch.optim
        # import SGD` find from now on (the script imports after this runs)

    def code(self) -> str:
        return "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)  # instead of SGD"


class LearningRate(Repair):
    """Every param group's learning rate times ``factor`` from the first step on."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.name = f"lr:x{factor:g}" if factor > 1 else f"lr:/{1 / factor:g}"
        self.targets = BLOWUP_KINDS if factor < 1 else SLOW_KINDS

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        scaled: set[int] = set()

        def scale(optimizer: Any, args: Any, kwargs: Any) -> None:
            if id(optimizer) in scaled:
                return
            scaled.add(id(optimizer))
            for group in optimizer.param_groups:
                for key in ("lr", "initial_lr"):  # initial_lr: what an LR scheduler restarts from
                    if key in group:
                        group[key] = group[key] * self.factor
            # a scheduler that computes the rate from its own base rates (LambdaLR, warm-up)
            # would put the old rate back at its next step: scale those too
            with warnings.catch_warnings():  # (isinstance on deprecated objects warns)
                warnings.simplefilter("ignore")
                schedulers = [o for o in gc.get_objects()
                              if isinstance(o, torch.optim.lr_scheduler.LRScheduler)]
            for obj in schedulers:
                if getattr(obj, "optimizer", None) is optimizer:
                    obj.base_lrs = [lr * self.factor for lr in obj.base_lrs]

        ctx.on_step(scale)

    def code(self) -> str:
        return f"lr = {self.factor:g} * lr  # the learning rate given to the optimizer"


class Clip(Repair):
    """Clip the global gradient norm before every step."""

    def __init__(self, max_norm: float = 1.0) -> None:
        self.max_norm = max_norm
        self.name = f"clip:{max_norm:g}"
        self.targets = BLOWUP_KINDS

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        def clip(optimizer: Any, args: Any, kwargs: Any) -> None:
            params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, self.max_norm)

        ctx.on_step(clip)

    def code(self) -> str:
        return (f"torch.nn.utils.clip_grad_norm_(model.parameters(), {self.max_norm:g})"
                "  # after loss.backward(), before optimizer.step()")


class LayerNorm(Repair):
    """Normalize every hidden Linear layer's output (a LayerNorm without parameters), so the
    scale is reset at each layer whatever the init."""

    name = "norm:layer"
    targets = frozenset({"vanishing_gradient", "exploding_gradient", "saturated_activation",
                         "poor_initialization", "stalled_weights", "nonfinite"})

    def applies(self, info: ModelInfo) -> bool:
        return info.linear_layers >= 2

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        def add(root: Any, args: Any, kwargs: Any) -> None:
            linears = [m for m in root.modules() if isinstance(m, torch.nn.Linear)]
            for m in linears[:-1]:
                if m.out_features >= 2:
                    m.register_forward_hook(lambda mod, i, out: torch.nn.functional.layer_norm(
                        out, out.shape[-1:]))

        ctx.on_first_forward(add)

    def code(self) -> str:
        return ("# a LayerNorm after each hidden Linear (Sequential model; before the optimizer)\n"
                "hidden = [m for m in model if isinstance(m, torch.nn.Linear)][:-1]\n"
                "model = torch.nn.Sequential(*[x for m in model for x in (\n"
                "    [m, torch.nn.LayerNorm(m.out_features)] if any(m is h for h in hidden)\n"
                "    else [m])])")


class QKNorm(Repair):
    """qk-layernorm (Dehghani et al. 2023; Wortsman et al. 2023): every attention computed by
    ``F.scaled_dot_product_attention`` gets its queries and keys layer-normalized over the head
    dimension (no gains), so a logit q.k/sqrt(d) stays below sqrt(d). Installed at the first
    forward, around whatever wraps the function by then (the watching sees what the attention
    computes)."""

    name = "norm:qk"
    targets = frozenset({"attention_logit_growth"})

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        functional = torch.nn.functional

        def wrap(root: Any, args: Any, kwargs: Any) -> None:
            inner = functional.scaled_dot_product_attention

            def scaled_dot_product_attention(q: Any, k: Any, *rest: Any, **kw: Any) -> Any:
                q = functional.layer_norm(q, q.shape[-1:])
                k = functional.layer_norm(k, k.shape[-1:])
                return inner(q, k, *rest, **kw)

            functional.scaled_dot_product_attention = scaled_dot_product_attention

        ctx.on_first_forward(wrap)

    def code(self) -> str:
        return ("def attention(q, k, v, is_causal=True):  # where the model computes it\n"
                "    q = torch.nn.functional.layer_norm(q, q.shape[-1:])  # qk-layernorm\n"
                "    k = torch.nn.functional.layer_norm(k, k.shape[-1:])\n"
                "    return torch.nn.functional.scaled_dot_product_attention(q, k, v, "
                "is_causal=is_causal)")


class ZLoss(Repair):
    """A z-loss (PaLM; Wortsman et al. 2023): ``coef * log(Z)**2`` of the logits added to every
    ``F.cross_entropy`` (and ``nn.CrossEntropyLoss``), averaged like the loss itself."""

    targets = frozenset({"output_logit_divergence"})

    def __init__(self, coef: float = 1e-4) -> None:
        self.coef = coef
        self.name = "loss:zloss"

    def install(self, torch: Any, ctx: "TrialHooks") -> None:
        functional = torch.nn.functional
        original = functional.cross_entropy
        coef = self.coef

        def cross_entropy(input: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
            loss = original(input, target, *args, **kwargs)
            given = dict(zip(("weight", "size_average", "ignore_index", "reduce", "reduction"),
                             args))
            given.update(kwargs)
            return loss + coef * z_term(torch, input, target, given.get("ignore_index", -100),
                                        given.get("reduction", "mean"), loss)

        functional.cross_entropy = cross_entropy

    def code(self) -> str:
        return (f"def z_loss(logits, coef={self.coef:g}):  # loss = loss + z_loss(logits)\n"
                "    return coef * torch.logsumexp(logits, dim=-1).pow(2).mean()")


def z_term(torch: Any, logits: Any, target: Any, ignore_index: Any, reduction: str,
           loss: Any) -> Any:
    """``log(Z)**2`` per row of ``logits`` (classes on dim 1), reduced as the loss is."""
    x = logits[None] if logits.ndim == 1 else logits
    squared = torch.logsumexp(x.float(), dim=1).pow(2)
    keep = torch.ones_like(squared)
    if isinstance(target, torch.Tensor) and not target.is_floating_point():
        keep = (target.reshape(squared.shape) != (-100 if ignore_index is None else ignore_index)
                ).to(squared.dtype)
    squared = squared * keep
    if reduction == "sum":
        return squared.sum().to(loss.dtype)
    if reduction == "none":
        return squared.reshape(loss.shape).to(loss.dtype)
    return (squared.sum() / keep.sum().clamp_min(1)).to(loss.dtype)


CATALOG: list[Repair] = [
    Init("he"), Init("xavier"), Init("lecun"), Init("he", bias=0.1), LSUV(), Adam(),
    QKNorm(), ZLoss(), LearningRate(0.1), LearningRate(10.0), Clip(1.0), LayerNorm(),
]


def by_name(name: str) -> Repair:
    for repair in CATALOG:
        if repair.name == name:
            return repair
    raise KeyError(f"unknown repair {name!r}; known: {', '.join(r.name for r in CATALOG)}")


def candidates(kinds: set[str], info: ModelInfo) -> list[Repair]:
    """The repairs that target at least one of ``kinds`` and apply to this model.

    When the findings are only a blow-up (NaN, exploding gradients, a diverging loss), the
    learning rate and clipping come first and one init (the one for the model's activations)
    stands for the family: a bad init can blow up, but five variants of it are not needed to
    tell.
    """
    chosen = [r for r in CATALOG if r.targets & kinds and r.applies(info)]
    if kinds & (INIT_KINDS - BLOWUP_KINDS):
        return chosen
    inits = [r for r in chosen if r.name.startswith("init:")]
    primary = next((r for r in inits if r.name == ("init:he" if info.has_relu else
                                                    "init:xavier")), None)
    return [r for r in chosen if not r.name.startswith("init:") or r is primary]


class TrialHooks:
    """What a trial process offers repairs: the first forward and every optimizer step."""

    def __init__(self, activations: dict[str, str | None]) -> None:
        self.activations = activations
        self.first_forward: list[Callable[[Any, Any, Any], None]] = []
        self.step: list[Callable[[Any, Any, Any], None]] = []

    def on_first_forward(self, fn: Callable[[Any, Any, Any], None]) -> None:
        self.first_forward.append(fn)

    def on_step(self, fn: Callable[[Any, Any, Any], None]) -> None:
        self.step.append(fn)
