"""Measure a Keras 3 / TF2 / TF1 case directly, with plain TensorFlow hooks (no gradsight).

    python benchmarks/wild/measure_keras.py benchmarks/wild/cases/<case>.py [--json PATH]
        [--reference KIND:TARGET[:MODS]] [--label NAME=EXPR ...] [--write]

The Keras/TF counterpart of ``benchmarks/diagnosis/measure.py`` (whose recorder layout, summary,
printout and ``--label``/``--write`` handling it reuses, so both print the same numbers). It runs
the script as ``__main__`` with class-level wrappers, never touching the script:

- Keras 3 / TF2: ``tf.function`` bodies run eagerly (``tf.config.run_functions_eagerly``) so
  that ``keras.optimizers.Optimizer.apply`` sees concrete gradients: per variable (named by
  ``variable.path``) the gradient norm or ``None``, the weight norm, and the update norm from a
  weight snapshot taken before the step. ``tf.GradientTape.gradient`` gives the loss of every
  step (the scalar it differentiates); ``keras.losses.Loss.__call__`` gives the targets and the
  loss kind; ``keras.layers.Layer.__call__`` inside a tape gives the outputs of layers with a
  ReLU/sigmoid/tanh activation (dead = never positive for any input over a window of steps,
  saturated = within 0.01 of an asymptote, non-finite values).
- TF1 (``tensorflow.compat.v1``; the hooks live in ``measure_tf1.py``): every ``Session.run``
  that runs a train op also fetches the loss, the gradients, the graph's ReLU/sigmoid/tanh
  outputs upstream of the loss and a NaN/Inf flag per op, with the variables read just before
  and just after.

The loss is also judged against a reference: the loss of the best constant prediction for the
targets seen at the loss call (mse: the targets' variance, mae: their deviation from the median,
bce/ce: the entropy of the class frequencies). Keras finds kind and targets itself; TF1 cases
name them: ``--reference ce:y_:sum`` (kind, the tensor holding the targets, fetched in the train
step's run, and how the script's loss scales: ``sum`` over the batch instead of the mean, summed
over output ``cols``, ``t`` for targets laid out one example per column, a factor ``x0.5``).

Step numbering follows gradsight's: step k is what happens before the (k+1)-th optimizer step.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import runpy
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "diagnosis"))
import measure as base  # noqa: E402  (recorder layout, summary and printout shared with torch)
import torch  # noqa: E402  (base.summarize stacks the dead-unit windows as torch tensors)
import tensorflow as tf  # noqa: E402
from measure_tf1 import hook_tf1  # noqa: E402  (the TF1 half of the hooks)

ACTS = {"relu": "relu", "relu6": "relu", "leaky_relu": "relu", "elu": "relu", "selu": "relu",
        "sigmoid": "sigmoid", "hard_sigmoid": "sigmoid", "tanh": "tanh", "softsign": "tanh"}
LOSS_KINDS = {"mean_squared_error": "mse", "meansquarederror": "mse",
              "mean_absolute_error": "mae", "meanabsoluteerror": "mae",
              "binary_crossentropy": "bce", "binarycrossentropy": "bce",
              "categorical_crossentropy": "ce", "categoricalcrossentropy": "ce",
              "sparse_categorical_crossentropy": "ce_sparse",
              "sparsecategoricalcrossentropy": "ce_sparse"}


class Recorder(base.Recorder):
    """``base.Recorder``'s fields, filled from TensorFlow instead of torch hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = None  # the optimizer whose steps count
        self.in_tape = 0
        self.pending_loss: float | None = None
        self.pending_target: tuple | None = None
        self.targets: list[tuple[str, np.ndarray, int]] = []  # (kind, targets, batch size)
        self.loss_depth = 0
        self.first_nonfinite_grad: tuple[int, str] | None = None
        self.keys: dict[str, int] = {}

    def check_grads(self, names, finite) -> None:
        """Every step: the first step and variable whose gradient held NaN/Inf."""
        if self.first_nonfinite_grad is None:
            bad = [n for n, ok in zip(names, finite) if not ok]
            if bad:
                self.first_nonfinite_grad = (self.step, bad[0])

    def record_param(self, name, grad, before, after, lr) -> None:
        rec = self.params.setdefault(name, {k: [] for k in ("step", "grad", "weight", "update")})
        rec["step"].append(self.step)
        rec["grad"].append(_norm(grad) if grad is not None else math.nan)
        rec["weight"].append(_norm(after))
        rec["update"].append(_norm(after - before))
        self.lrs[name] = lr

    def key(self, name: str) -> int:
        """``base.summarize`` keys modules by integer ids and names them via module_names."""
        if name not in self.keys:
            self.keys[name] = len(self.keys)
            self.module_names[self.keys[name]] = name
        return self.keys[name]

    def nonfinite_output(self, name: str) -> None:
        if self.first_nonfinite_act is None:
            self.first_nonfinite_act = (self.step, self.key(name))

    def record_act(self, name, kind, out: np.ndarray) -> None:
        key = self.key(name)
        self.module_order.setdefault(key, len(self.module_order))
        rec = self.acts.setdefault(key, {"kind": kind, "type": kind, "rms": [], "sat": [],
                                         "window": [], "nonfinite": []})
        bad = float((~np.isfinite(out)).mean()) if out.size else 0.0
        if bad > 0:
            self.nonfinite_output(name)
        if self.recorded():
            fin = out[np.isfinite(out)].astype(np.float64)
            rms = float(np.sqrt((fin ** 2).mean())) if fin.size else math.nan
            rec["rms"].append((self.step, rms))
            rec["nonfinite"].append((self.step, bad))
            if kind == "tanh":
                rec["sat"].append((self.step, float((np.abs(out) > 0.99).mean())))
            elif kind == "sigmoid":
                rec["sat"].append((self.step, float(((out < 0.01) | (out > 0.99)).mean())))
        if kind == "relu" and out.ndim >= 2:
            pos = (out > 0).reshape(-1, out.shape[-1]).any(axis=0)  # channels last
            rec["window"].append((self.step, torch.from_numpy(pos)))
            rec["window"] = [(s, t) for s, t in rec["window"] if s > self.step - base.DEAD_WINDOW]
            if self.step < base.DENSE:
                rec.setdefault("dead_at_init", []).append(float(1 - pos.mean()))

    def commit_loss(self, value: float | None) -> None:
        if value is not None:
            self.loss.append((self.step, value))
        if self.pending_target is not None:
            self.targets.append(self.pending_target)
        self.pending_loss, self.pending_target = None, None


def _norm(x) -> float:
    return float(np.sqrt(np.sum(np.square(np.asarray(x, dtype=np.float64)))))


def _np(x) -> np.ndarray:
    if isinstance(x, tf.IndexedSlices):
        x = tf.convert_to_tensor(x)
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _var_name(v) -> str:
    return getattr(v, "path", None) or v.name.split(":")[0]


def _loss_kind(loss) -> str | None:
    fn = getattr(loss, "fn", None)
    name = getattr(fn, "__name__", None) or type(loss).__name__
    return LOSS_KINDS.get(name.lower())


# ----------------------------------------------------------------------------- Keras 3 / TF2
def hook_keras(r: Recorder) -> list:
    import keras

    tf.config.run_functions_eagerly(True)
    undo = []

    def patch(owner, attr, make):
        orig = getattr(owner, attr)
        setattr(owner, attr, make(orig))
        undo.append((owner, attr, orig))

    def enter(orig):
        def wrapped(self):
            r.in_tape += 1
            return orig(self)
        return wrapped

    def exit_(orig):
        def wrapped(self, *a):
            r.in_tape = max(0, r.in_tape - 1)
            return orig(self, *a)
        return wrapped

    def gradient(orig):
        def wrapped(self, target, sources, *a, **k):
            if tf.is_tensor(target) and target.shape.rank == 0 and tf.executing_eagerly():
                r.pending_loss = float(target)
            return orig(self, target, sources, *a, **k)
        return wrapped

    def loss_call(orig):
        def wrapped(self, y_true, y_pred, sample_weight=None):
            r.loss_depth += 1
            try:
                out = orig(self, y_true, y_pred, sample_weight)
            finally:
                r.loss_depth -= 1
            kind = _loss_kind(self)
            if kind and r.in_tape and tf.executing_eagerly() and y_true is not None:
                y = _np(y_true)
                r.pending_target = (kind, y, len(y))
            return out
        return wrapped

    def layer_call(orig):
        def wrapped(self, *a, **k):
            out = orig(self, *a, **k)
            act = getattr(getattr(self, "activation", None), "__name__", None)
            if act is None and type(self).__name__ in ("ReLU", "LeakyReLU", "ELU"):
                act = "relu"
            kind = ACTS.get(act or "")
            if not (r.in_tape and tf.is_tensor(out) and tf.executing_eagerly()):
                return out
            weights = [w.path for w in self.weights]
            name = weights[0].rsplit("/", 1)[0] if weights else self.name
            if kind and not isinstance(self, keras.layers.RNN):
                r.record_act(name, kind, _np(out))
            elif r.first_nonfinite_act is None and out.dtype.is_floating \
                    and not bool(tf.reduce_all(tf.math.is_finite(out))):
                r.nonfinite_output(name)  # any layer: the first to produce it
            return out
        return wrapped

    def apply(orig):
        def wrapped(self, grads, trainable_variables=None):
            vars_ = (list(trainable_variables) if trainable_variables is not None
                     else list(self._trainable_variables))
            if r.clock is None:
                r.clock = self
            if self is r.clock:
                r.commit_loss(r.pending_loss)
            names = [_var_name(v) for v in vars_]
            for n, g in zip(names, grads):
                r.never_grad[n] = r.never_grad.get(n, True) and g is None
            r.check_grads(names, [g is None or bool(tf.reduce_all(tf.math.is_finite(
                tf.convert_to_tensor(g)))) for g in grads])
            rec = r.recorded()
            before = [_np(v) for v in vars_] if rec else []
            out = orig(self, grads, trainable_variables)
            if rec:
                try:
                    lr = float(self._get_current_learning_rate())
                except Exception:  # a schedule this Keras cannot evaluate here
                    lr = math.nan
                for n, g, v, b in zip(names, grads, vars_, before):
                    r.record_param(n, None if g is None else _np(g), b, _np(v), lr)
            if self is r.clock:
                r.step += 1
            return out
        return wrapped

    patch(tf.GradientTape, "__enter__", enter)
    patch(tf.GradientTape, "__exit__", exit_)
    patch(tf.GradientTape, "gradient", gradient)
    patch(keras.losses.Loss, "__call__", loss_call)
    patch(keras.layers.Layer, "__call__", layer_call)
    patch(keras.optimizers.Optimizer, "apply", apply)
    return undo


# ----------------------------------------------------------------------------- reference
def best_constant(kind: str, y: np.ndarray) -> float:
    """The loss of the best constant prediction for targets ``y`` (one row per example; a
    class axis last for ``ce``), per output position and averaged over positions, as the
    Keras losses average them."""
    eps = 1e-12
    if kind == "ce":  # one-hot (n, ..., classes): one class distribution per position
        p = y.astype(np.float64).reshape(len(y), -1, y.shape[-1]).mean(axis=0)
        return float(np.mean([-(q[q > 0] * np.log(q[q > 0])).sum() for q in p]))
    if kind == "ce_sparse":  # integer classes (n, ...): the same from counts
        y = y.astype(np.int64).reshape(len(y), -1)
        return float(np.mean([-(q[q > 0] * np.log(q[q > 0])).sum()
                              for q in (np.bincount(c) / len(c) for c in y.T)]))
    y = y.astype(np.float64).reshape(len(y), -1)
    if kind == "mse":
        return float(((y - y.mean(axis=0)) ** 2).mean())
    if kind == "mae":
        return float(np.abs(y - np.median(y, axis=0)).mean())
    if kind == "bce":  # per output column, averaged over the columns
        p = np.clip(y.mean(axis=0), eps, 1 - eps)
        return float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))
    raise ValueError(f"unknown reference kind {kind!r}: use mse, mae, bce, ce or ce_sparse")


def reference_numbers(r: Recorder, out: dict, mods: list[str]) -> dict | None:
    """The best constant's loss, scaled as the script's loss is: ``sum`` over the batch,
    summed over the output ``cols``, times a factor ``x0.5``."""
    if not r.targets or not out.get("loss"):
        return None
    kind = r.targets[-1][0]
    ys = [t for k, t, _ in r.targets if k == kind]
    if kind == "ce_sparse" and ys[0].ndim > 1 and ys[0].shape[-1] == 1:
        ys = [t[..., 0] for t in ys]  # (n, 1) integer labels
    y = np.concatenate(ys)
    best = best_constant(kind, y)
    if "sum" in mods:
        best *= float(np.median([n for _, _, n in r.targets]))
    if "cols" in mods:
        best *= int(np.prod(y.shape[1:]))
    for m in mods:
        if m.startswith("x"):
            best *= float(m[1:])
    end = out["loss"]["end_med10pct"]
    return {"kind": ":".join([kind, *mods]), "best_constant_loss": best,
            "loss_end_over_best_constant": end / best if best > 0 else math.nan,
            "loss_min_window_over_best_constant": (out["loss"]["min_window_med"] / best
                                                   if best > 0 else math.nan)}


# ----------------------------------------------------------------------------- running
def tf1_script(path: str) -> bool:
    text = Path(path).read_text()
    return "tensorflow.compat.v1" in text or "compat.v1 as tf" in text


def measure(script: str, argv: list[str] | None = None, reference: str | None = None) -> dict:
    ref = None
    if reference:
        kind, target, *rest = reference.split(":")
        ref = (kind, target, rest[0].split(",") if rest else [])
    r = Recorder()
    undo = hook_tf1(r, ref) if tf1_script(script) else hook_keras(r)
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [script, *(argv or [])]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except Exception as exc:  # a case that crashes is still measured up to the crash
        r.crash = repr(exc)
    finally:
        for owner, attr, orig in reversed(undo):
            setattr(owner, attr, orig)
        sys.argv, sys.path[:] = old_argv, old_path
    out = base.summarize(r)
    ref_out = reference_numbers(r, out, ref[2] if ref else [])
    if ref_out:
        out["reference"] = ref_out
    if r.first_nonfinite_grad:
        out["first_nonfinite_grad"] = {"step": r.first_nonfinite_grad[0],
                                       "param": r.first_nonfinite_grad[1]}
    if hasattr(r, "crash"):
        out["crash"] = r.crash
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("script")
    ap.add_argument("--json", help="write the full measurement here")
    ap.add_argument("--full", action="store_true", help="print everything, as JSON")
    ap.add_argument("--reference", metavar="KIND:TARGET[:MODS]",
                    help="TF1: the loss kind and the placeholder fed with the targets")
    ap.add_argument("--label", action="append", default=[], metavar="NAME=EXPR",
                    help="a number for the label's measured dict (R: the reference numbers)")
    ap.add_argument("--write", action="store_true", help="write the measured dict into the case")
    args, rest = ap.parse_known_args()
    out = measure(args.script, rest, args.reference)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    print(json.dumps(base._fmt(out), indent=1, default=str) if args.full else base.brief(out))
    for key in ("reference", "first_nonfinite_grad"):
        if out.get(key):
            print(f"{key}:", json.dumps(base._fmt(out[key])))
    labels = list(args.label)
    if out.get("reference"):
        labels += ["best_constant_loss=out['reference']['best_constant_loss']"]
    measured = base.label_numbers(out, labels)
    print("measured:", json.dumps(measured))
    if args.write:
        base.write_measured(args.script, measured)


if __name__ == "__main__":
    main()
