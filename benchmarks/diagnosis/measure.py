"""Measure a case directly, with plain PyTorch hooks and ``param.grad`` (no gradsight).

    python benchmarks/diagnosis/measure.py benchmarks/diagnosis/cases/<name>.py [--json PATH]

Runs the script as ``__main__`` (like ``python script.py``) with three kinds of global hooks:
optimizer step pre/post hooks (gradient norm, weight norm, update norm ``||w_after - w_before||``
per parameter), module forward hooks (activation rms, fraction of ReLU units never positive,
fraction of tanh/sigmoid outputs within 0.01 of an asymptote, non-finite values) and a wrapper
of ``Tensor.backward`` (the loss of every backward call). It prints the numbers the labels'
``measured`` fields quote. Parameters are named as the model's ``named_parameters()`` does; the
model is the outermost module that was called whose parameters the optimizer holds.

Step numbering follows gradsight's: step k is what happens before the (k+1)-th optimizer step,
so step 0 is the network at initialization.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import runpy
import sys

import torch

DENSE = 10  # steps 0..9 recorded, then one in EVERY
EVERY = 10
DEAD_WINDOW = 20  # ReLU units never positive in any training forward of the last 20 steps
ACTS = {"ReLU": "relu", "ReLU6": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "GELU": "gelu",
        "LeakyReLU": "leaky_relu", "Hardtanh": "tanh", "Softsign": "tanh"}


class Recorder:
    def __init__(self) -> None:
        self.step = 0  # optimizer steps taken so far (all optimizers count once per step call)
        self.optimizers: list = []
        self.called: dict[int, torch.nn.Module] = {}
        self.names: dict[int, str] = {}
        self.loss: list[tuple[int, float]] = []
        self.params: dict[str, dict[str, list]] = {}
        self.acts: dict[str, dict] = {}
        self.module_names: dict[int, str] = {}
        self.module_order: dict[str, int] = {}
        self._before: dict[int, torch.Tensor] = {}
        self.first_nonfinite_act: tuple[int, str] | None = None
        self.never_grad: dict[str, bool] = {}
        self.lrs: dict[str, float] = {}

    # ---------------------------------------------------------------- naming
    def _name_params(self) -> None:
        held = {id(p) for opt in self.optimizers for g in opt.param_groups for p in g["params"]}
        mods = list(self.called.values())
        children = {id(c) for m in mods for c in m.modules() if c is not m}
        roots = [m for m in mods if id(m) not in children]
        # name a data-parallel wrapper's parameters as its model names them (no "module.")
        roots = [m.module if type(m).__name__ in ("DistributedDataParallel", "DataParallel")
                 else m for m in roots]
        # the roots owning optimized parameters first, bigger first
        roots.sort(key=lambda m: (-sum(id(p) in held for p in m.parameters()),
                                  -sum(1 for _ in m.parameters())))
        for root in roots:
            for name, p in root.named_parameters():
                self.names.setdefault(id(p), name)
            for name, m in root.named_modules():
                self.module_names.setdefault(id(m), name or type(m).__name__)
        for opt in self.optimizers:  # optimized tensors that belong to no module
            for gi, g in enumerate(opt.param_groups):
                for pi, p in enumerate(g["params"]):
                    self.names.setdefault(id(p), f"group{gi}.param{pi}")
        self.all_params = {}
        for root in roots:
            for name, p in root.named_parameters():
                self.all_params.setdefault(name, p)
        self.in_optimizer = {self.names[id(p)]: g["lr"] for opt in self.optimizers
                             for g in opt.param_groups for p in g["params"]}

    def recorded(self) -> bool:
        return self.step < DENSE or self.step % EVERY == 0

    # ---------------------------------------------------------------- extension points
    def install(self) -> list:
        """Extra hooks of a subclass; returns the callables that remove them."""
        return []

    def on_backward(self, loss: torch.Tensor) -> None:
        """Every ``Tensor.backward`` call: the loss of a scalar one."""
        if loss.numel() == 1:
            self.loss.append((self.step, float(loss.detach().float())))

    def summarize(self) -> dict:
        return summarize(self)

    # ---------------------------------------------------------------- hooks
    def pre_step(self, opt, args, kwargs) -> None:
        if opt not in self.optimizers:
            self.optimizers.append(opt)
        if not self.names:
            self._name_params()
        for name, p in self.all_params.items():
            if p.requires_grad:
                self.never_grad[name] = self.never_grad.get(name, True) and p.grad is None
        if not self.recorded():
            return
        for g in opt.param_groups:
            for p in g["params"]:
                self.lrs[self.names.get(id(p), "?")] = float(g["lr"])
                self._before[id(p)] = p.detach().clone()

    def post_step(self, opt, args, kwargs) -> None:
        if self.recorded():
            for g in opt.param_groups:
                for p in g["params"]:
                    name = self.names.get(id(p), "?")
                    rec = self.params.setdefault(name, {k: [] for k in
                                                        ("step", "grad", "weight", "update")})
                    before = self._before.pop(id(p), None)
                    grad = float(p.grad.double().norm()) if p.grad is not None else math.nan
                    rec["step"].append(self.step)
                    rec["grad"].append(grad)
                    rec["weight"].append(float(p.detach().double().norm()))
                    upd = (p.detach() - before).double().norm() if before is not None else math.nan
                    rec["update"].append(float(upd))
        if opt is self.optimizers[0]:
            self.step += 1

    def forward(self, module, inputs, output) -> None:
        self.called.setdefault(id(module), module)
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return
        kind = ACTS.get(type(module).__name__)
        has_params = any(True for _ in module.parameters(recurse=False))
        leaf = not any(True for _ in module.children())
        out = output.detach().float()
        if kind is None and not has_params:
            if leaf and not torch.isfinite(out).all() and (
                    self.first_nonfinite_act is None or self.step < self.first_nonfinite_act[0]):
                self.first_nonfinite_act = (self.step, id(module))  # e.g. a custom x / x.sum()
            return
        name = id(module)  # named once the model is known (summarize)
        self.module_order.setdefault(name, len(self.module_order))
        rec = self.acts.setdefault(name, {"kind": kind, "type": type(module).__name__,
                                          "rms": [], "sat": [], "window": [], "nonfinite": []})
        bad = (~torch.isfinite(out)).float().mean().item()
        if bad > 0 and (self.first_nonfinite_act is None or
                        self.step < self.first_nonfinite_act[0]):
            self.first_nonfinite_act = (self.step, id(module))
        if self.recorded():
            fin = out[torch.isfinite(out)]
            rms = float(fin.pow(2).mean().sqrt()) if fin.numel() else math.nan
            rec["rms"].append((self.step, rms))
            rec["nonfinite"].append((self.step, bad))
            if kind == "tanh":
                rec["sat"].append((self.step, float((out.abs() > 0.99).float().mean())))
            elif kind == "sigmoid":
                rec["sat"].append((self.step, float(((out < 0.01) | (out > 0.99)).float().mean())))
        if kind == "relu" and (module.training or torch.is_grad_enabled()) and out.dim() >= 1:
            if out.dim() == 1:  # an unbatched input (one sample per step): one row of units
                out = out.unsqueeze(0)
            dims = [d for d in range(out.dim()) if d != (out.dim() - 1 if out.dim() == 3 else 1)]
            pos = (out > 0).amax(dim=dims)
            rec["window"].append((self.step, pos))
            rec["window"] = [(s, t) for s, t in rec["window"] if s > self.step - DEAD_WINDOW]
            if self.step < DENSE:
                rec.setdefault("dead_at_init", []).append(float(1 - pos.float().mean()))


def _med(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return float(sorted(xs)[len(xs) // 2]) if xs else math.nan


def summarize(r: Recorder) -> dict:
    out: dict = {"steps": r.step}
    losses = [v for _, v in r.loss]
    n = len(losses)
    if n:
        w = max(1, n // 10)
        finite = [v for v in losses if math.isfinite(v)]
        bad = [s for s, v in r.loss if not math.isfinite(v)]
        windows = [_med(losses[i:i + w]) for i in range(0, max(n - w + 1, 1), w)]
        out["loss"] = {
            "n": n, "first": losses[0], "start_med10pct": _med(losses[:w]),
            "end_med10pct": _med(losses[-w:]), "min_window_med": min(windows),
            "max_window_med": max(windows), "max": max(finite) if finite else None,
            "first_nonfinite_step": bad[0] if bad else None,
        }
        if bad:
            keep = [v for s, v in r.loss if s < bad[0]][-5:]
            out["loss"]["last_finite"] = keep
    params = {}
    for name, rec in r.params.items():
        g, w, u = rec["grad"], rec["weight"], rec["update"]
        gw = [a / b if b > 0 else math.nan for a, b in zip(g, w)]
        uw = [a / b if b > 0 else math.nan for a, b in zip(u, w)]
        finite_g = [x for x in g if math.isfinite(x)]
        params[name] = {
            "grad0": g[0], "weight0": w[0], "g_over_w_med": _med(gw),
            "g_over_w_init": _med(gw[:3]), "update_over_w_med": _med(uw),
            "grad_max": max(finite_g) if finite_g else None,
            "grad_growth": (max(finite_g) / _med(g[:3])) if finite_g and _med(g[:3]) > 0 else None,
            "lr": r.lrs.get(name),
        }
    out["params"] = params
    out["never_grad"] = sorted(n for n, v in r.never_grad.items() if v)
    out["not_in_optimizer"] = sorted(
        n for n, p in getattr(r, "all_params", {}).items()
        if p.requires_grad and n not in r.in_optimizer)
    out["lr_zero"] = sorted(n for n, lr in getattr(r, "in_optimizer", {}).items() if lr == 0)
    acts = {}
    for key in sorted(r.acts, key=lambda k: r.module_order.get(k, 0)):
        rec = r.acts[key]
        name = r.module_names.get(key, f"{rec['type']}@{key:x}")
        a: dict = {"type": rec["type"]}
        rms = [v for _, v in rec["rms"]]
        if rms:
            a["rms_init"], a["rms_end"] = rms[0], rms[-1]
        if rec["sat"]:
            sat = [v for _, v in rec["sat"]]
            a["saturated_med"], a["saturated_init"], a["saturated_end"] = _med(sat), sat[0], sat[-1]
        if rec["window"]:  # one module reused after layers of different widths: each width
            shapes = {t.shape for _, t in rec["window"]}
            evers = [torch.stack([t for _, t in rec["window"] if t.shape == sh]).amax(dim=0)
                     for sh in shapes]
            a["units"] = sum(int(e.numel()) for e in evers)
            a["dead_end"] = sum(float((~e).sum()) for e in evers) / a["units"]
        if "dead_at_init" in rec:
            a["dead_step0"] = rec["dead_at_init"][0]
        if rec["kind"] is not None or "rms_init" in a:
            acts[name] = a
    out["activations"] = acts
    if r.first_nonfinite_act:
        step, key = r.first_nonfinite_act
        out["first_nonfinite_activation"] = {"step": step,
                                             "module": r.module_names.get(key, str(key))}
    mats = {k: v for k, v in params.items() if v["g_over_w_med"] == v["g_over_w_med"]}
    if mats:
        best = max(mats.values(), key=lambda v: v["g_over_w_med"])["g_over_w_med"]
        if best > 0:  # every gradient exactly zero: nothing to compare against
            out["g_over_w_vs_best"] = {k: v["g_over_w_med"] / best for k, v in mats.items()}
    return out


def attach(r: Recorder):
    """Install the global hooks that feed R; returns the callable that removes them all."""
    from torch.nn.modules.module import register_module_forward_hook
    from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                       register_optimizer_step_pre_hook)

    handles = [register_optimizer_step_pre_hook(lambda o, a, k: r.pre_step(o, a, k)),
               register_optimizer_step_post_hook(lambda o, a, k: r.post_step(o, a, k)),
               register_module_forward_hook(lambda m, i, o: r.forward(m, i, o))]
    undo = r.install()
    original = torch.Tensor.backward

    def backward(self, *args, **kwargs):
        r.on_backward(self)
        return original(self, *args, **kwargs)

    torch.Tensor.backward = backward

    def detach() -> None:
        torch.Tensor.backward = original
        for h in handles:
            h.remove()
        for u in undo:
            u()

    return detach


def measure(script: str, argv: list[str] | None = None, recorder: Recorder | None = None,
            ) -> dict:
    """Run SCRIPT as ``__main__`` under the hooks and summarize. A subclass of ``Recorder``
    (``benchmarks/wild/measure_torch.py``) adds hooks of its own through ``install()`` (undo
    callables back) and numbers through ``summarize()``."""
    r = recorder if recorder is not None else Recorder()
    detach = attach(r)
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [script, *(argv or [])]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except Exception as exc:  # a case that crashes is still measured up to the crash
        r.crash = repr(exc)
    except SystemExit as exc:  # a script may end with sys.exit(); measure what it did
        if exc.code not in (None, 0):
            r.crash = f"SystemExit({exc.code!r})"
    finally:
        detach()
        sys.argv, sys.path[:] = old_argv, old_path
    out = r.summarize()
    if hasattr(r, "crash"):
        out["crash"] = r.crash
    return out


def _fmt(x):
    if isinstance(x, float):
        return f"{x:.3g}"
    if isinstance(x, dict):
        return {k: _fmt(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_fmt(v) for v in x]
    return x


def brief(out: dict) -> str:
    """The numbers the labels quote, one line per parameter / activation."""
    lines = [f"steps {out['steps']}"]
    loss = out.get("loss")
    if loss:
        lines.append("loss first {first:.4g}  start(10%) {start_med10pct:.4g}  end(10%) "
                     "{end_med10pct:.4g}  min-window {min_window_med:.4g}  max-window "
                     "{max_window_med:.4g}  first-nonfinite-step {first_nonfinite_step}"
                     .format(**loss))
    vs = out.get("g_over_w_vs_best", {})
    lines.append(f"{'param':32s} {'|g|/|w|@0':>10s} {'|g|/|w|med':>10s} {'vs best':>9s} "
                 f"{'|dw|/|w|':>9s} {'g growth':>9s} {'lr':>8s}")
    for name, p in out["params"].items():
        lines.append(f"{name:32s} {p['g_over_w_init']:10.3g} {p['g_over_w_med']:10.3g} "
                     f"{vs.get(name, math.nan):9.3g} {p['update_over_w_med']:9.3g} "
                     f"{p['grad_growth'] or math.nan:9.3g} {p['lr'] or 0:8.3g}")
    for name, a in out["activations"].items():
        extra = []
        for k in ("dead_step0", "dead_end", "saturated_init", "saturated_med", "saturated_end"):
            if k in a:
                extra.append(f"{k} {a[k]:.3g}")
        lines.append(f"act {name:28s} {a['type']:10s} rms@0 {a.get('rms_init', math.nan):.3g} "
                     f"rms@end {a.get('rms_end', math.nan):.3g} " + " ".join(extra))
    for k in ("never_grad", "not_in_optimizer", "lr_zero", "first_nonfinite_activation", "crash"):
        if out.get(k):
            lines.append(f"{k}: {out[k]}")
    return "\n".join(lines)


def label_numbers(out: dict, exprs: list[str]) -> dict:
    """The ``measured`` dict of a label: loss start/end plus ``name=expression`` picks, each
    expression evaluated on the measurement (``out``), e.g. ``dead=A['act1']['dead_end']``
    (``A``: activations, ``P``: params, ``V``: |g|/|w| against the best tensor; a wild case's
    measurement adds ``R``: the loss reference, ``I``: the inputs of Linear/Conv layers, ``S``:
    the gradients left from the previous step, ``N``: non-finite steps)."""
    loss = out.get("loss") or {}
    measured = {}
    if loss:
        measured["loss_start"] = loss["start_med10pct"]
        measured["loss_end"] = loss["end_med10pct"]
    env = {"out": out, "A": out["activations"], "P": out["params"],
           "V": out.get("g_over_w_vs_best", {}), "L": loss, "min": min, "max": max,
           "R": out.get("reference", {}), "I": out.get("inputs", {}),
           "S": out.get("stale_grads", {}), "N": out.get("nonfinite", {})}
    for e in exprs:
        key, expr = e.split("=", 1)
        measured[key] = eval(expr, env)  # noqa: S307 - the expressions are ours
    def tidy(v):
        if isinstance(v, float):
            return float(f"{v:.3g}") if math.isfinite(v) else str(v)  # "nan"/"inf": literals
        return v

    return {k: tidy(v) for k, v in measured.items()}


def write_measured(script: str, measured: dict) -> None:
    """Replace the case's ``"measured": {...}`` entry (read back with ast, checked)."""
    import ast
    import re

    text = open(script).read()
    items = [f"{json.dumps(k)}: {json.dumps(v) if isinstance(v, str) else repr(v)}"
             for k, v in measured.items()]
    lines, cur = [], '    "measured": {'
    for i, item in enumerate(items):
        piece = item + (", " if i < len(items) - 1 else "")
        if len(cur) + len(piece) > 98:
            lines.append(cur.rstrip())
            cur = "                 "
        cur += piece
    lines.append(cur + "},")
    new, n = re.subn(r'    "measured": \{.*?\},\n', lambda m: "\n".join(lines) + "\n", text,
                     count=1, flags=re.S)
    if n != 1:
        raise SystemExit(f"{script}: no measured entry to replace")
    text = new
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "LABEL":
            ast.literal_eval(node.value)
    open(script, "w").write(text)


def main(recorder_cls: type[Recorder] = Recorder, brief_fn=None, doc: str | None = None,
         run=None) -> None:
    """The command line; ``benchmarks/wild/measure_torch.py`` passes its own recorder class,
    brief, docstring and runner (``run(script, argv, recorder) -> dict``)."""
    ap = argparse.ArgumentParser(description=(doc or __doc__).splitlines()[0])
    ap.add_argument("script")
    ap.add_argument("--json", help="write the full measurement here")
    ap.add_argument("--full", action="store_true", help="print everything, as JSON")
    ap.add_argument("--label", action="append", default=[], metavar="NAME=EXPR",
                    help="a number for the label's measured dict (see label_numbers)")
    ap.add_argument("--write", action="store_true", help="write the measured dict into the case")
    args, rest = ap.parse_known_args()
    torch.set_num_threads(1)
    out = (run or measure)(args.script, rest, recorder_cls())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    print(json.dumps(_fmt(out), indent=1, default=str) if args.full else (brief_fn or brief)(out))
    measured = label_numbers(out, args.label)
    print("measured:", json.dumps(measured))
    if args.write:
        write_measured(args.script, measured)


if __name__ == "__main__":
    main()
