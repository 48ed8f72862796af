"""Advice (``core.advice.Fix``) in PyTorch's words: code that runs as written against the
user's model. Imports no torch (the diagnosis of a stored run needs no framework)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ...core import advice as a
from ...core.advice import Phrase, lit

_NAMES = {"he": "He (Kaiming)", "xavier": "Xavier/Glorot", "lecun": "LeCun"}


def ref(name: str | None, owner: str | None = None) -> str:
    """``0.weight`` -> ``model[0].weight``: how a parameter or module is written in Python."""
    label = owner if owner and owner.isidentifier() and owner[0].islower() else "model"
    if not name:
        return label
    if owner and name.startswith(f"{owner}."):  # a name that carries its model's label
        name = name[len(owner) + 1:]
    parts = [f"[{p}]" if p.isdigit() else f".{p}" for p in name.split(".")]
    return label + "".join(parts)


def _weight(layer: Mapping[str, Any]) -> str:
    return ref(layer.get("param"), layer.get("owner"))


def _init_code(weight: str, scheme: str, activation: str | None) -> str:
    if scheme == "he":
        act = activation if activation in ("relu", "leaky_relu") else "relu"
        return f'torch.nn.init.kaiming_normal_({weight}, nonlinearity="{act}")'
    if scheme == "lecun":
        return f'torch.nn.init.kaiming_normal_({weight}, nonlinearity="linear")'
    gain = f', gain=torch.nn.init.calculate_gain("{activation}")' \
        if activation in ("tanh", "sigmoid") else ""
    return f"torch.nn.init.xavier_normal_({weight}{gain})"


def _init_layer(args: Mapping[str, Any]) -> Phrase:
    scheme, act = args.get("scheme", "he"), args.get("activation")
    why = {"he": ", since a ReLU follows", "lecun": " for SELU"}.get(scheme, "")
    if scheme == "xavier" and act in ("tanh", "sigmoid"):
        why = f" with the {act} gain"
    return Phrase(f"{_NAMES.get(scheme, scheme)} init{why}",
                  _init_code(_weight(args["layer"]), scheme, act))


def _init_all(args: Mapping[str, Any]) -> Phrase:
    owner = ref(None, (args.get("layer") or {}).get("owner"))
    act = args.get("activation")
    if act in ("tanh", "sigmoid"):
        weight = f'torch.nn.init.xavier_normal_(m.weight, gain=torch.nn.init.calculate_gain("{act}"))'
        text = f"the {act} gain before every {act}, 1 at the output"
    else:
        weight = 'torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")'
        text = "He before every ReLU, xavier_normal_ before tanh/sigmoid and at the output"
    return Phrase(
        f"initialize every layer for the activation that follows it instead of a fixed std "
        f"({text})",
        f"for m in {owner}.modules():\n"
        "    if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)):\n"
        f"        {weight}\n"
        "        if m.bias is not None: torch.nn.init.zeros_(m.bias)")


def _positive_bias(args: Mapping[str, Any]) -> Phrase:
    layer = args["layer"]
    bias = ref(layer.get("bias") or layer.get("param"), layer.get("owner"))
    return Phrase("small positive bias so ReLUs start active",
                  f"torch.nn.init.constant_({bias}, {lit(args.get('value', 0.1))})")


def _lower_lr(args: Mapping[str, Any]) -> Phrase:
    new = args.get("new")
    text = a.GENERIC[a.LOWER_LR](args).text
    return Phrase(text, f'for group in optimizer.param_groups: group["lr"] = {lit(new)}'
                  if new else None)


def _raise_lr(args: Mapping[str, Any]) -> Phrase:
    text = a.GENERIC[a.RAISE_LR](args).text
    layer, new = args.get("layer"), args.get("new")
    if layer and new:
        owner = ref(None, layer.get("owner"))
        kind = args.get("optimizer") or "SGD"
        return Phrase(text + " for these parameters: a param group of their own",
                      f"fast = [{_weight(layer)}]\n"
                      f"rest = [p for p in {owner}.parameters() if all(p is not q for q in fast)]\n"
                      f'optimizer = torch.optim.{kind}([{{"params": rest}}, '
                      f'{{"params": fast, "lr": {lit(new)}}}], lr={lit(args.get("current"))})')
    return Phrase(text)


def _clip(args: Mapping[str, Any]) -> Phrase:
    text = "clip the gradient norm between backward() and step()"
    if args.get("recurrent"):
        text += " (recurrent nets multiply the same weights every time step: clip first)"
    owner = ref(None, args.get("owner"))
    return Phrase(text, f"torch.nn.utils.clip_grad_norm_({owner}.parameters(), "
                        f"max_norm={lit(args.get('max_norm', 1.0))})")


def _norm_layer(layer: Mapping[str, Any] | None) -> str | None:
    """The normalization for a layer's output: BatchNorm2d after a convolution, else
    LayerNorm over its features."""
    if not layer or not layer.get("units"):
        return None
    if layer.get("kind") == "conv":
        return f"torch.nn.BatchNorm2d({layer['units']})"
    return f"torch.nn.LayerNorm({layer['units']})"


def _layer_without_bias(layer: Mapping[str, Any]) -> str | None:
    units, inputs = layer.get("units"), layer.get("inputs")
    if not units or not inputs:
        return None
    if layer.get("kind") == "conv":
        size = tuple(layer.get("kernel_size") or (1,))
        dims = len(size)
        kernel = size[0] if len(set(size)) == 1 else size
        return f"torch.nn.Conv{dims}d({inputs}, {units}, {kernel}, bias=False)"
    return f"torch.nn.Linear({inputs}, {units}, bias=False)"


def _simple(text: str, code: str | None = None) -> Callable[[Mapping[str, Any]], Phrase]:
    return lambda args: Phrase(text, code)


PHRASES: dict[str, Callable[[Mapping[str, Any]], Phrase]] = {
    a.INIT_LAYER: _init_layer,
    a.INIT_ALL: _init_all,
    a.POSITIVE_BIAS: _positive_bias,
    a.KEEP_DEFAULT_INIT: _simple("or keep PyTorch's default initialization (do not re-draw "
                                 "weights from N(0, s))"),
    a.ADD_NORMALIZATION: lambda args: Phrase(
        "add normalization (BatchNorm, LayerNorm) or residual connections between the layers, "
        "so the scale is reset at each one", _norm_layer(args.get("layer"))),
    a.USE_OPTIMIZER: lambda args: Phrase(
        "use an adaptive optimizer: it scales each update to the learning rate",
        f"optimizer = torch.optim.Adam({ref(None, args.get('owner'))}.parameters(), "
        f"lr={lit(args.get('lr', 1e-3))})"),
    a.LOWER_LR: _lower_lr,
    a.RAISE_LR: _raise_lr,
    a.CLIP_GRAD_NORM: _clip,
    a.FIND_DETACH: _simple("look for `.detach()`, `torch.no_grad()`, `.item()`, `.numpy()` or "
                           "`.data` between this layer and the loss"),
    a.FREEZE_EXPLICITLY: lambda args: Phrase(
        "if the layer is meant to be frozen, say so and leave it out of the optimizer",
        f"{_weight(args['layer'])}.requires_grad_(False)"),
    a.OPTIMIZE_ALL: lambda args: Phrase(
        "create the optimizer after the whole model is built, from all its parameters",
        f"optimizer = torch.optim.Adam({ref(None, args['layer'].get('owner'))}.parameters(), "
        "lr=1e-3)"),
    a.ADD_PARAM_GROUP: lambda args: Phrase(
        "or add the missing ones",
        f'optimizer.add_param_group({{"params": [{_weight(args["layer"])}]}})'),
    a.CHECK_INPUTS_FINITE: _simple("check the inputs and targets",
                                   "assert torch.isfinite(x).all()"),
    a.GUARD_NUMERICS: _simple(
        "guard log/sqrt/division with an epsilon (torch.log(x + 1e-8)); anomaly detection "
        "names the operation that produced the NaN",
        "torch.autograd.set_detect_anomaly(True)"),
    a.CHECK_LR_SCHEDULE: _simple(
        "check the learning-rate schedule: one that increases (or a warm-up that overshoots) "
        "raises every step's size; print it at the step where it began",
        'print([group["lr"] for group in optimizer.param_groups])'),
    a.CHANGE_ACTIVATION: lambda args: Phrase(a.because(args,
        f"use {args.get('to', 'relu')} instead of {args.get('current', 'sigmoid')} in the "
        "hidden layers"), "torch.nn.GELU()" if args.get("to") == "gelu" else "torch.nn.ReLU()"),
    a.LEAKY_ACTIVATION: _simple("use an activation that cannot die",
                                "torch.nn.LeakyReLU(0.01)"),
    a.DROP_BIAS: lambda args: Phrase("drop the bias of layers followed by batch norm",
                                     _layer_without_bias(args["layer"])),
    a.SATURATION_NORM: lambda args: Phrase(
        "add normalization before the activation to keep pre-activations near zero",
        _norm_layer(args.get("layer"))),
    a.RESET_GRADIENTS: lambda args: Phrase(
        "reset the gradients once per optimizer step, before backward()",
        "optimizer.zero_grad()"),
    a.DDP_FORWARD: lambda args: Phrase(
        "with manual optimization, call self.manual_backward(loss) in training_step, never "
        "loss.backward(): only Lightning's backward prepares DDP to all-reduce the gradients",
        "self.manual_backward(loss)  # not loss.backward()\nopt.step()") if args.get(
        "manual_backward") else Phrase(
        "call the DDP-wrapped model in every training step, never model.module: a "
        "forward/backward through the raw module does not all-reduce its gradients (for "
        "gradient accumulation, skip the all-reduce of all but the last micro-batch with "
        "no_sync())",
        "ddp_model = torch.nn.parallel.DistributedDataParallel(model)\n"
        "output = ddp_model(x)  # every step: forward and backward through ddp_model"),
    a.FLOAT32_WEIGHTS: lambda args: Phrase(
        a.GENERIC[a.FLOAT32_WEIGHTS](args).text + "; cast the model back before creating the "
        "optimizer, and let autocast run the forward pass in low precision",
        f"{ref(None, args.get('owner'))}.float()  # float32 weights\n"
        f"with torch.autocast(device_type=\"cpu\", dtype=torch.{args.get('dtype', 'bfloat16')}):"
        "  # \"cuda\" on a GPU\n"
        f"    output = {ref(None, args.get('owner'))}(x)  # the forward pass and the loss"),
    a.ALL_REDUCE_GRADS: _simple(
        "all-reduce every parameter's gradient before optimizer.step(), or wrap the model in "
        "DistributedDataParallel: the hand-written average never reaches these gradients",
        "for p in model.parameters():\n"
        "    if p.grad is not None:\n"
        "        torch.distributed.all_reduce(p.grad)  # a sum over the ranks\n"
        "        p.grad /= torch.distributed.get_world_size()"),
    a.SAME_INIT: _simple(
        "initialize the replicas alike: the same seed on every rank (not seed + rank) before "
        "building the model, and initialize before wrapping it, since DDP broadcasts rank 0's "
        "parameters only when it wraps",
        "torch.manual_seed(0)  # on every rank, before the model is built\n"
        "model = torch.nn.parallel.DistributedDataParallel(model)  # after its init"),
    a.SYNC_BUFFERS: lambda args: Phrase(
        "keep buffers synchronized: leave DDP's broadcast_buffers=True"
        + (", or synchronize the batch-norm statistics" if args.get("batch_norm") else ""),
        "model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)"
        if args.get("batch_norm") else
        "torch.nn.parallel.DistributedDataParallel(model, broadcast_buffers=True)"),
    a.DDP_UNUSED: lambda args: Phrase(
        ("DDP stopped the job because these parameters got no gradient: " if args.get(
            "stopped") else "") + "if the layer is skipped on purpose in some steps, tell DDP "
        "(it then waits for no gradient from it)" + (
            ', with Lightning: Trainer(strategy="ddp_find_unused_parameters_true")'
            if args.get("lightning") else "") + "; otherwise use the layer or delete it",
        "torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)"),
    a.QK_NORM: lambda args: Phrase(
        a.GENERIC[a.QK_NORM](args).text + "; where the attention is computed",
        "def attention(q, k, v, is_causal=True):  # q, k, v: (batch, heads, time, head_dim)\n"
        "    q = torch.nn.functional.layer_norm(q, q.shape[-1:])\n"
        "    k = torch.nn.functional.layer_norm(k, k.shape[-1:])\n"
        "    return torch.nn.functional.scaled_dot_product_attention(q, k, v, "
        "is_causal=is_causal)"),
    a.Z_LOSS: lambda args: Phrase(
        a.GENERIC[a.Z_LOSS](args).text,
        "logits = model(x)\n"
        f"loss = loss + {lit(float(args.get('coef', 1e-4)))} * "
        "torch.logsumexp(logits, dim=-1).pow(2).mean()"),
    a.WARMUP_LR: lambda args: Phrase(
        a.GENERIC[a.WARMUP_LR](args).text + " (call scheduler.step() after optimizer.step())",
        "scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, "
        f"total_iters={int(args.get('steps', 1000))})"),
    a.NORM_WEIGHT_DECAY: lambda args: Phrase(
        a.GENERIC[a.NORM_WEIGHT_DECAY](args).text,
        f"gains = [m.weight for m in {ref(None, args.get('owner'))}.modules() if isinstance(m, "
        "(torch.nn.LayerNorm, torch.nn.RMSNorm)) and m.weight is not None]\n"
        f"rest = [p for p in {ref(None, args.get('owner'))}.parameters() "
        "if all(p is not g for g in gains)]\n"
        'optimizer = torch.optim.AdamW([{"params": rest}, {"params": gains, "weight_decay": '
        f"{lit(float(args.get('value', 0.1)))}}}], lr=1e-3)"),
}
