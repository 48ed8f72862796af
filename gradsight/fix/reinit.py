"""Re-initialization helpers of the ``init:`` repairs, run inside a trial at the model's first
forward: LSUV (data-dependent unit variance) and putting normalization layers back to their
standard init (scale 1, shift 0). Framework objects come in as arguments (``torch``)."""

from __future__ import annotations

from typing import Any


def lsuv(torch: Any, root: Any, args: Any, kwargs: Any, tol: float = 0.05,
         rounds: int = 5) -> None:
    from ..adapters.torch.init import init_model, weight_layers

    init_model(root, "orthogonal")
    with torch.no_grad(), torch.random.fork_rng():
        for _, module in weight_layers(root):
            for _ in range(rounds):
                seen: list[float] = []
                handle = module.register_forward_hook(  # LSTM, attention: (output, ...)
                    lambda m, i, o: seen.append(float(_first_tensor(o).detach().double().std())))
                try:
                    root(*args, **kwargs)
                finally:
                    handle.remove()
                std = seen[0] if seen else 1.0
                if not (std > 0 and abs(std - 1.0) > tol) or std != std:
                    break
                for p in module.parameters(recurse=False):
                    if p.ndim >= 2:
                        p.div_(std)


def _first_tensor(output: Any) -> Any:
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output


NORM_RESET_CODE = (
    "for m in model.modules():  # normalization layers: their default scale 1 and shift 0\n"
    "    if 'Norm' in type(m).__name__ and getattr(m, 'weight', None) is not None:\n"
    "        torch.nn.init.ones_(m.weight)\n"
    "        if m.bias is not None: torch.nn.init.zeros_(m.bias)")


def reset_norms(torch: Any, root: Any) -> list[str]:
    """A re-initialization re-draws the normalization layers too: their affine scale back to 1
    and shift to 0 (their standard init), so a shift set to -5 by hand (every unit after the
    batch norm dead from step 0) goes with the weights. Returns the layers reset."""
    names = []
    with torch.no_grad():
        for name, module in root.named_modules():
            weight = getattr(module, "weight", None)
            if "Norm" not in type(module).__name__ or not isinstance(weight, torch.Tensor) or \
                    weight.ndim != 1:
                continue
            weight.fill_(1.0)
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.Tensor):
                bias.zero_()
            names.append(name)
    return names
