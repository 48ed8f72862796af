"""The TF1 half of ``measure_keras.py``: plain hooks on ``tensorflow.compat.v1`` graphs.

``Optimizer.apply_gradients`` marks each train op with its ``(gradient, variable)`` pairs, the
loss named by the last ``compute_gradients``/``tf.gradients`` call, the graph's ReLU/sigmoid/
tanh outputs upstream of that loss, and one is-finite flag per float op upstream of it (graph
creation order is a topological order, so the first flagged op is the first to produce NaN/Inf).
Every ``Session.run`` that runs a train op also fetches, in the same run, the loss, those flags,
the activations, the targets named by ``--reference`` and, on recorded steps, the gradients,
with the variables read just before and just after the run.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

TF1_ACTS = {"Relu": "relu", "Relu6": "relu", "LeakyRelu": "relu", "Elu": "relu",
            "Sigmoid": "sigmoid", "Tanh": "tanh"}
RELU_OPS = ("Relu", "Relu6", "LeakyRelu", "Elu")


def hook_tf1(r, reference: tuple | None) -> list:
    """Install the hooks on recorder ``r``; returns (owner, attribute, original) to undo."""
    from tensorflow.python.client import session
    from tensorflow.python.training import optimizer

    v1 = tf.compat.v1
    train_ops: dict = {}  # train op -> (pairs, loss tensor, activation tensors)
    state = {"loss": None}
    undo = []

    def patch(owner, attr, make):
        orig = getattr(owner, attr)
        setattr(owner, attr, make(orig))
        undo.append((owner, attr, orig))

    def compute(orig):
        def wrapped(self, loss, *a, **k):
            state["loss"] = loss
            return orig(self, loss, *a, **k)
        return wrapped

    def gradients(orig):
        def wrapped(ys, *a, **k):
            if tf.is_tensor(ys) and ys.shape.rank == 0:
                state["loss"] = ys
            return orig(ys, *a, **k)
        return wrapped

    def apply(orig):
        def wrapped(self, grads_and_vars, *a, **k):
            pairs = list(grads_and_vars)
            op = orig(self, pairs, *a, **k)
            loss = state["loss"]
            acts = []
            if loss is not None:  # the graph's activations upstream of the loss, in graph order
                seen, todo = set(), [loss.op]
                while todo:
                    o = todo.pop()
                    if o.name in seen:
                        continue
                    seen.add(o.name)
                    todo.extend(t.op for t in o.inputs)
                ops = [o for o in loss.graph.get_operations() if o.name in seen]
                acts = [o.outputs[0] for o in ops if o.type in TF1_ACTS]
                floats = [o.outputs[0] for o in ops if o.outputs and o.type not in (
                    "VariableV2", "VarHandleOp", "Const", "Placeholder")
                    and o.outputs[0].dtype.is_floating]
                with loss.graph.as_default():  # one flag per op: did it output NaN/Inf?
                    finite = [v1.reduce_all(v1.is_finite(t)) for t in floats]
                state["finite"] = (floats, finite)
            with op.graph.as_default():
                state["gfinite"] = [v1.reduce_all(v1.is_finite(tf.convert_to_tensor(g)))
                                    for g, _ in pairs if g is not None]
            lr = getattr(self, "_learning_rate", getattr(self, "_lr", math.nan))
            train_ops[op.name] = (pairs, loss, acts, float(lr) if isinstance(lr, (int, float))
                                  else math.nan, state.pop("finite", ([], [])),
                                  state.pop("gfinite"))
            return op
        return wrapped

    def run(orig):
        def wrapped(self, fetches, feed_dict=None, options=None, run_metadata=None):
            flat = tf.nest.flatten(fetches)
            names = [getattr(f, "name", None) for f in flat]
            hit = next((train_ops[n] for n in names if n in train_ops), None)
            if hit is None:
                return orig(self, fetches, feed_dict, options, run_metadata)
            pairs, loss, acts, lr, (floats, finite), gfinite = hit
            live = [(g, v) for g, v in pairs if g is not None]
            for g, v in pairs:
                n = v.op.name
                r.never_grad[n] = r.never_grad.get(n, True) and g is None
            rec = r.recorded()
            extra = {"loss": loss if loss is not None else tf.constant(math.nan),
                     "acts": acts if rec or any(a.op.type in RELU_OPS for a in acts) else []}
            if reference:  # the targets: a fed placeholder (or any tensor) named on the CLI
                name = reference[1] if ":" in reference[1] else reference[1] + ":0"
                extra["target"] = loss.graph.get_tensor_by_name(name)
            if r.first_nonfinite_act is None:
                extra["finite"] = finite
            if r.first_nonfinite_grad is None:
                extra["gfinite"] = gfinite
            if rec:
                extra["grads"] = [g for g, _ in live]
                before = orig(self, [v for _, v in live])
            out, got = orig(self, [fetches, extra], feed_dict, options, run_metadata)
            if r.clock is None:
                r.clock = True
            r.commit_loss(float(np.asarray(got["loss"]).reshape(-1)[0]))
            if "target" in got:
                y = np.asarray(got["target"])
                y = y.T if "t" in reference[2] else y
                r.targets.append((reference[0], y, len(y)))
            r.check_grads([v.op.name for _, v in live], got.get("gfinite", []))
            bad = [t for t, ok in zip(floats, got.get("finite", [])) if not ok]
            if bad:  # graph order is creation order: the first op that made NaN/Inf
                r.nonfinite_output(bad[0].op.name)
            for a, val in zip(extra["acts"], got["acts"]):
                kind = TF1_ACTS[a.op.type]
                if rec or kind == "relu":
                    r.record_act(a.op.name, kind, np.asarray(val))
            if rec:
                after = orig(self, [v for _, v in live])
                for (g, v), gv, b, w in zip(live, got["grads"], before, after):
                    r.record_param(v.op.name, np.asarray(gv), b, w, lr)
            r.step += 1
            return out
        return wrapped

    patch(optimizer.Optimizer, "compute_gradients", compute)
    patch(optimizer.Optimizer, "apply_gradients", apply)
    patch(v1, "gradients", gradients)
    patch(session.BaseSession, "run", run)
    return undo
