"""Measure a wild PyTorch case directly, with plain PyTorch hooks (no gradsight).

    python benchmarks/wild/measure_torch.py benchmarks/wild/cases/torch_<name>.py [--json PATH]
        [--full] [--label 'name=EXPR' ...] [--write]

Everything ``benchmarks/diagnosis/measure.py`` measures (per-parameter gradient, weight and
update norms around ``optimizer.step``, activation statistics from module forward hooks, the loss
of every ``backward``), and what judging a program written by someone else needs besides:

- **the loss's reference**: the loss of the best constant prediction, from the targets seen at
  every training call of ``F.cross_entropy`` / ``nll_loss`` (entropy of the class frequencies),
  ``binary_cross_entropy(_with_logits)`` (mean binary entropy of each output's frequency),
  ``mse_loss`` (variance of each output's targets) and ``l1_loss`` (mean absolute deviation from
  each output's median), pooled over the run; ``nn.*Loss`` modules call these. A loss that never
  gets below it learned nothing that a constant could not;
- **gradients left from the previous step**: at the first ``backward`` after each optimizer step,
  the optimized parameters whose ``.grad`` still holds a non-zero value (nothing reset it: a
  missing ``zero_grad()``). Deliberate accumulation resets before its first backward;
- **non-finite steps**: the steps with a NaN/Inf loss, and the first step with a non-finite
  gradient in each parameter;
- **consumer-side dead units**: for every ``nn.Linear``/``nn.Conv*d`` input, the fraction of
  input features (channels) that were exactly zero for every input in the last 20 training
  steps, however they were produced (``F.relu`` in ``forward`` included), and at step 0;
- **processes**: a script that starts worker processes (``mp.spawn``, ``torchrun``) is measured
  in each of them (``sitecustomize`` under ``measure_child/``); each rank's numbers and the norm
  of its final parameters come back under ``ranks``.

Labels quote these numbers (``--label``; ``R``, ``S``, ``N``, ``I`` name the new groups).
"""

from __future__ import annotations

import atexit
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "diagnosis"))
import measure  # noqa: E402  (benchmarks/diagnosis/measure.py)

CONSUMERS = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
CHILD_DIR_ENV = "GS_WILD_MEASURE_DIR"  # set for worker processes: where they write their numbers
L1_SAMPLE = 200_000  # target values kept per run for the L1 reference (a median needs them)


class Reference:
    """Pooled targets of one loss function, enough for its best constant prediction's loss."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls = 0
        self.values: list[float] = []  # the loss the call returned, per element (mean)
        self.counts: torch.Tensor | None = None  # classes (CE) or per-output sums (BCE/MSE)
        self.sumsq: torch.Tensor | None = None
        self.n = 0.0
        self.samples: list[torch.Tensor] = []

    def _add(self, name: str, t: torch.Tensor) -> None:
        cur = getattr(self, name)
        setattr(self, name, t if cur is None or cur.shape != t.shape else cur + t)

    def add(self, inp: torch.Tensor, target: torch.Tensor, value: torch.Tensor,
            weight: torch.Tensor | None, ignore_index: int, reduction: str) -> None:
        self.calls += 1
        t = target.detach().double()
        if self.kind == "ce" and not target.is_floating_point():  # class indices
            c = inp.shape[1] if inp.dim() > 1 else inp.shape[0]
            idx = target.detach().reshape(-1)
            idx = idx[idx != ignore_index]
            counts = torch.bincount(idx, minlength=c).double()
            if weight is not None:
                counts = counts * weight.detach().double()
            self._add("counts", counts)
            n = float(counts.sum())
        elif self.kind == "ce":  # class probabilities, shape of the input
            self._add("counts", t.movedim(1, -1).reshape(-1, t.shape[1]).sum(0))
            n = float(t.numel() / t.shape[1])
        else:
            flat = t.reshape(t.shape[0], -1) if t.dim() > 1 else t.reshape(-1, 1)
            if inp.shape != target.shape:  # broadcast: one pooled column
                flat = t.reshape(-1, 1)
            self._add("counts", flat.sum(0))
            self._add("sumsq", flat.pow(2).sum(0))
            n = float(flat.shape[0])
            if self.kind == "l1" and sum(s.numel() for s in self.samples) < L1_SAMPLE:
                self.samples.append(flat.float())
        self.n += n
        v = float(value.detach().double())
        if reduction == "sum" and n:
            v /= n * (1 if self.kind == "ce" else max(1, int(self.counts.numel())))
        self.values.append(v)

    def best_constant(self) -> float | None:
        if self.counts is None or not self.n:
            return None
        if self.kind == "ce":
            p = self.counts / self.counts.sum()
            p = p[p > 0]
            return float(-(p * p.log()).sum())
        mean = self.counts / self.n
        if self.kind == "bce":
            m = mean.clamp(1e-12, 1 - 1e-12)
            h = -(mean * m.log() + (1 - mean) * (1 - m).log())
            return float(h.mean())
        if self.kind == "mse":
            return float((self.sumsq / self.n - mean.pow(2)).clamp_min(0).mean())
        cat = torch.cat(self.samples)
        return float((cat - cat.median(0).values).abs().mean())


LOSSES = {"cross_entropy": "ce", "nll_loss": "ce", "binary_cross_entropy": "bce",
          "binary_cross_entropy_with_logits": "bce", "mse_loss": "mse", "l1_loss": "l1"}


class WildRecorder(measure.Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.refs: dict[str, Reference] = {}
        self.stale: list[tuple[int, list[str]]] = []  # (step, params whose grad was left over)
        self._backward_step = -1
        self.bad_grad: dict[str, int] = {}
        self.inputs: dict[int, dict] = {}

    # ------------------------------------------------------------------ hooks
    def install(self) -> list:
        undo = []
        for fname, kind in LOSSES.items():
            undo.append(self._wrap_loss(fname, kind))
        from torch.nn.modules.module import register_module_forward_pre_hook
        h = register_module_forward_pre_hook(lambda m, i: self.consumer(m, i))
        return undo + [h.remove]

    def _wrap_loss(self, fname: str, kind: str):
        original = getattr(F, fname)
        rec = self

        def wrapped(input, target, *args, **kwargs):
            value = original(input, target, *args, **kwargs)
            if torch.is_grad_enabled() and input.requires_grad and value.numel() == 1:
                weight = kwargs.get("weight", args[0] if args and kind == "ce" else None)
                rec.refs.setdefault(fname, Reference(kind)).add(
                    input, target, value, weight if isinstance(weight, torch.Tensor) else None,
                    kwargs.get("ignore_index", -100), kwargs.get("reduction", "mean"))
            return value

        setattr(F, fname, wrapped)
        return lambda: setattr(F, fname, original)

    def on_backward(self, loss: torch.Tensor) -> None:
        super().on_backward(loss)
        if self._backward_step == self.step:
            return
        self._backward_step = self.step  # the first backward since the last optimizer step
        if self.step == 0 or not self.optimizers:
            return
        left = [self.names.get(id(p), "?") for opt in self.optimizers
                for g in opt.param_groups for p in g["params"]
                if p.grad is not None and bool(p.grad.detach().ne(0).any())]
        if left:
            self.stale.append((self.step, left))

    def pre_step(self, opt, args, kwargs) -> None:
        super().pre_step(opt, args, kwargs)
        if not hasattr(self, "rank") and torch.distributed.is_initialized():
            self.rank = torch.distributed.get_rank()
        for g in opt.param_groups:
            for p in g["params"]:
                name = self.names.get(id(p), "?")
                if (p.grad is not None and name not in self.bad_grad
                        and not bool(torch.isfinite(p.grad).all())):
                    self.bad_grad[name] = self.step

    def consumer(self, module, inputs) -> None:
        if not isinstance(module, CONSUMERS) or not torch.is_grad_enabled() or not inputs:
            return  # a training forward, whatever the module's train/eval flag says
        x = inputs[0]
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            return
        if x.dim() == 1 and isinstance(module, torch.nn.Linear):  # one unbatched sample
            x = x.unsqueeze(0)
        if x.dim() < 2:
            return
        self.called.setdefault(id(module), module)
        feat = x.dim() - 1 if isinstance(module, torch.nn.Linear) else 1
        dims = [d for d in range(x.dim()) if d != feat]
        live = x.detach().ne(0).amax(dim=dims)
        rec = self.inputs.setdefault(id(module), {"window": [], "type": type(module).__name__})
        rec["window"] = [(s, t) for s, t in rec["window"] if s > self.step - measure.DEAD_WINDOW]
        rec["window"].append((self.step, live))
        if "step0" not in rec:
            rec["step0"] = float(1 - live.float().mean())

    # ------------------------------------------------------------------ numbers
    def summarize(self) -> dict:
        out = measure.summarize(self)
        ref = {}
        for fname, r in self.refs.items():
            vals = [v for v in r.values if math.isfinite(v)]
            w = max(1, len(vals) // 10)
            best = r.best_constant()
            ref[fname] = {"calls": r.calls, "best_constant": best,
                          "start": measure._med(vals[:w]), "end": measure._med(vals[-w:]),
                          "min_window": min((measure._med(vals[i:i + w])
                                             for i in range(0, max(len(vals) - w + 1, 1), w)),
                                            default=math.nan)}
            if best:
                ref[fname]["end_over_best"] = ref[fname]["end"] / best
        out["reference"] = ref
        out["stale_grads"] = {"steps": len(self.stale),
                              "first_step": self.stale[0][0] if self.stale else None,
                              "params": sorted({n for _, ns in self.stale for n in ns})}
        bad = [s for s, v in self.loss if not math.isfinite(v)]
        out["nonfinite"] = {"loss_steps": len(set(bad)), "first_loss_step": bad[0] if bad else None,
                            "first_grad_step": dict(sorted(self.bad_grad.items(),
                                                           key=lambda kv: kv[1]))}
        inputs = {}
        for key, rec in self.inputs.items():
            name = self.module_names.get(key, f"{rec['type']}@{key:x}")
            ever = torch.stack([t for _, t in rec["window"]]).amax(dim=0)
            inputs[name] = {"type": rec["type"], "features": int(ever.numel()),
                            "zero_step0": rec["step0"], "zero_end": float(1 - ever.float().mean())}
        out["inputs"] = inputs
        return out

    def fingerprint(self) -> dict[str, float]:
        """Norm of each parameter at the end: replicas that should be equal compare these."""
        return {name: float(p.detach().double().norm())
                for name, p in getattr(self, "all_params", {}).items()}


def brief(out: dict) -> str:
    lines = [measure.brief(out)]
    for fname, r in out.get("reference", {}).items():
        lines.append(f"reference {fname}: best constant {_g(r['best_constant'])}  loss start "
                     f"{_g(r['start'])} end {_g(r['end'])} min-window {_g(r['min_window'])}  "
                     f"end/best {_g(r.get('end_over_best'))}  ({r['calls']} calls)")
    s = out.get("stale_grads", {})
    lines.append(f"gradients left from the previous step: {s.get('steps')} steps (first "
                 f"{s.get('first_step')}) {s.get('params', [])[:4]}")
    n = out.get("nonfinite", {})
    lines.append(f"non-finite: loss steps {n.get('loss_steps')} (first {n.get('first_loss_step')})"
                 f"  first grad step {n.get('first_grad_step')}")
    for name, i in out.get("inputs", {}).items():
        lines.append(f"input of {name:24s} {i['type']:8s} {i['features']:5d} features, zero for "
                     f"every input: step 0 {i['zero_step0']:.3g}, last 20 steps "
                     f"{i['zero_end']:.3g}")
    if out.get("ranks"):
        spread = _g(out.get("replica_param_norm_spread"))
        lines.append(f"replicas: {len(out['ranks'])} ranks; largest relative difference of a "
                     f"final parameter norm between ranks {spread}")
    for rank, r in sorted(out.get("ranks", {}).items()):
        lines.append(f"--- rank {rank} ---\n" + brief(r))
    return "\n".join(lines)


def _g(x) -> str:
    return "-" if x is None else f"{x:.4g}"


# ---------------------------------------------------------------------- worker processes
def child_start() -> None:
    """In a worker process (``measure_child/sitecustomize.py``): measure it, write at exit."""
    out_dir = os.environ.get(CHILD_DIR_ENV)
    if not out_dir:
        return
    r = WildRecorder()
    detach = measure.attach(r)

    def finish() -> None:
        detach()
        if not r.step:
            return  # a process that trained nothing (the launcher)
        out = r.summarize()
        out["final_param_norms"] = r.fingerprint()
        rank = os.environ.get("RANK") or str(getattr(r, "rank", os.getpid()))
        Path(out_dir, f"rank-{rank}-{os.getpid()}.json").write_text(json.dumps(out, default=str))

    atexit.register(finish)


def measure_with_children(script: str, argv: list[str] | None, r: WildRecorder) -> dict:
    with tempfile.TemporaryDirectory(prefix="gs-wild-measure-") as d:
        old = {k: os.environ.get(k) for k in (CHILD_DIR_ENV, "PYTHONPATH")}
        os.environ[CHILD_DIR_ENV] = d
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(HERE / "measure_child"), str(HERE)] + ([old["PYTHONPATH"]]
                                                        if old["PYTHONPATH"] else []))
        try:
            out = measure.measure(script, argv, r)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        ranks = {}
        for f in sorted(Path(d).glob("rank-*.json")):
            ranks[f.name.split("-")[1]] = json.loads(f.read_text())
    if ranks:
        out["ranks"] = ranks
        norms = [r["final_param_norms"] for r in ranks.values()]
        diffs = {n: max(abs(a[n] - b[n]) / max(abs(a[n]), 1e-30)
                        for a in norms for b in norms if n in a and n in b)
                 for n in norms[0]}
        out["replica_param_norm_spread"] = max(diffs.values()) if diffs else None
    return out


if __name__ == "__main__":
    measure.main(WildRecorder, brief, __doc__, measure_with_children)
