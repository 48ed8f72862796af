"""Synthetic runs written through the real ``RunStore``: detectors tested without a framework.

Each detector module's ``SCENARIOS`` (positive, healthy and boundary cases, collected by the
conformance suite) are built with it, and any detector test can be.

Entities carry the same ``info`` keys the torch adapter writes (``_describe`` in
``gradsight/adapters/torch.py``), and stats follow the adapter's conventions: ``has_grad`` for
every parameter, ``grad_norm`` only where there was a gradient, ``update_norm``/``weight_norm``/
``lr`` only for optimized parameters, activation statistics per module.

A scenario is a few lines::

    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4)).act("1", "relu").layer("2", shape=(1, 16))
        .steps(range(0, 100, 5), grad_to_weight={"0.weight": 1e-5})
        .open()
    )

Modules are wired in the order they are added (each takes the previous used module's output),
which gives ``inputs_from``, ``feeds`` and ``followed_by`` the way the adapter derives them.

Value specs (``grad_to_weight=``, ``lr=``, ``loss=``, ...) are either one spec for every
entity or a ``{name: spec}`` dict (names missing from it get the healthy default). A spec is a
number, a callable ``step -> number``, or a sequence aligned with the steps; a spec that yields
``None`` at a step leaves that metric unrecorded there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .job import PROCESSES, Job
from .run_view import RunView
from .store import RunStore
from .synthetic_specs import (  # noqa: F401 (re-exported for scenario builders)
    ACTIVATION_TYPES, DEFAULT_LR, HEALTHY_GRAD_TO_WEIGHT, HEALTHY_UPDATE_TO_WEIGHT, INF, NAN,
    Number, Spec,
    _pick, _resolve, healthy_loss, when)

class SyntheticRun:
    """Builder of one run folder under ``tmp_path``; ``open()`` writes it and returns a RunView."""

    def __init__(
        self,
        tmp_path: str | Path,
        name: str = "run",
        *,
        optimizer_type: str = "SGD",
        lr: float = DEFAULT_LR,
        owner: str | None = "model",
        dtype: str = "float32",
    ) -> None:
        self.folder = Path(tmp_path) / name
        self.dtype = dtype  # every parameter's, as the adapters record it
        self.optimizer_type = optimizer_type
        self.lr = lr
        self.owner = owner
        self.modules: dict[str, dict[str, Any]] = {}
        self.params: dict[str, dict[str, Any]] = {}
        self.rows: list[tuple[int, str, str, str, float]] = []
        self.losses: list[tuple[int, float]] = []
        self.events: list[tuple[int, str, str, dict[str, Any]]] = []
        self.meta: dict[str, Any] = {"framework": "torch", "script": "synthetic.py"}
        self._explicit: dict[str, dict[str, Any]] = {}  # param name -> info given by the test
        self._last_used: str | None = None
        self._view: Any = None
        self._ranks: list["SyntheticRun"] = []  # a job's worker stores (``job``)

    # -- structure --------------------------------------------------------------------------
    def module(
        self,
        name: str,
        type: str,
        *,
        activation: str | None = None,
        inputs_from: Sequence[str] | None = None,
        used: bool = True,
    ) -> "SyntheticRun":
        """A module in forward order. ``used=False``: no later module consumes its output."""
        if inputs_from is None:
            inputs_from = [self._last_used] if self._last_used is not None else []
        self.modules[name] = {
            "type": type,
            "activation": activation,
            "inputs_from": list(inputs_from),
            "owner": self.owner,
        }
        if used:
            self._last_used = name
        return self

    def act(self, name: str, kind: str = "relu", **kw: Any) -> "SyntheticRun":
        """An activation module (``relu``, ``tanh``, ``sigmoid``, ...)."""
        type_name = ACTIVATION_TYPES.get(kind, kind.capitalize())
        return self.module(name, type_name, activation=kind, **kw)

    def param(
        self,
        name: str,
        shape: Sequence[int],
        *,
        module: str | None = None,
        requires_grad: bool = True,
        optimized: bool = True,
        lr: float | None = None,
        optimizer_type: str | None = None,
        **info: Any,
    ) -> "SyntheticRun":
        """A parameter; ``info`` overrides derived keys (``feeds``, ``followed_by``, ...)."""
        numel = 1
        for n in shape:
            numel *= int(n)
        self.params[name] = {
            "shape": list(shape),
            "numel": numel,
            "requires_grad": requires_grad,
            "module": module,
            "module_type": self.modules[module]["type"] if module in self.modules else None,
            "followed_by": None,
            "feeds": [],
            "optimizer": 0 if optimized else None,
            "optimizer_type": (optimizer_type or self.optimizer_type) if optimized else None,
            "lr": (self.lr if lr is None else lr) if optimized else None,
            "optimized": optimized,
            "dtype": self.dtype,
        }
        self._explicit[name] = dict(info)
        return self

    def layer(
        self,
        name: str,
        type: str = "Linear",
        shape: Sequence[int] = (16, 16),
        *,
        bias: bool = True,
        used: bool = True,
        inputs_from: Sequence[str] | None = None,
        **param_kw: Any,
    ) -> "SyntheticRun":
        """A module with ``weight`` (``shape``) and, unless ``bias=False``, ``bias`` (out dim)."""
        self.module(name, type, inputs_from=inputs_from, used=used)
        self.param(f"{name}.weight", shape, module=name, **param_kw)
        if bias:
            self.param(f"{name}.bias", shape[:1], module=name, **param_kw)
        return self

    def batchnorm(
        self, name: str, features: int, type: str = "BatchNorm1d", **kw: Any
    ) -> "SyntheticRun":
        return self.layer(name, type, (features,), **kw)

    def mlp(self, widths: Sequence[int], activation: str = "relu") -> "SyntheticRun":
        """``nn.Sequential(Linear, act, Linear, act, ..., Linear)`` named "0", "1", ...

        ``widths=[4, 16, 16, 1]`` gives Linear(4,16), act, Linear(16,16), act, Linear(16,1).
        """
        index = 0
        for i in range(len(widths) - 1):
            self.layer(str(index), "Linear", (widths[i + 1], widths[i]))
            index += 1
            if i < len(widths) - 2:
                self.act(str(index), activation)
                index += 1
        return self

    # -- numbers ----------------------------------------------------------------------------
    def steps(
        self,
        steps: Iterable[int],
        *,
        grad_to_weight: Any = None,
        update_to_weight: Any = None,
        weight_norm: Any = None,
        grad_norm: Any = None,
        grad_norm_preclip: Any = None,
        update_norm: Any = None,
        lr: Any = None,
        has_grad: Any = None,
        act: Mapping[str, Mapping[str, Spec]] | None = None,
        extra: Mapping[str, Any] | None = None,
        loss: Spec = healthy_loss,
    ) -> "SyntheticRun":
        """Record full statistics at these steps, and the loss (``loss=None``: none, e.g. when
        ``loss()`` records it every step). ``grad_norm``/``update_norm`` given directly win
        over the ``*_to_weight`` ratios (which are multiplied by ``weight_norm``, default 1).
        ``grad_norm_preclip``: the norm before clipping, recorded beside ``grad_norm``."""
        steps = list(steps)
        for i, step in enumerate(steps):
            for name, info in self.params.items():
                self._param_rows(name, info, step, i, dict(
                    grad_to_weight=grad_to_weight, update_to_weight=update_to_weight,
                    weight_norm=weight_norm, grad_norm=grad_norm, update_norm=update_norm,
                    lr=lr, has_grad=has_grad, grad_norm_preclip=grad_norm_preclip,
                ))
                for metric, spec in (extra or {}).items():  # any other per-parameter metric
                    v = _resolve(_pick(spec, name, None), step, i)
                    if v is not None:
                        self.rows.append((step, "param", name, metric, float(v)))
            for name, info in self.modules.items():
                self._module_rows(name, info, step, i, (act or {}).get(name, {}))
            value = _resolve(loss, step, i)
            if value is not None:
                self.losses.append((step, float(value)))
        return self

    def _param_rows(self, name: str, info: dict[str, Any], step: int, i: int,
                    specs: dict[str, Any]) -> None:
        def given(key: str) -> bool:
            spec = specs[key]
            return name in spec if isinstance(spec, Mapping) else spec is not None

        def value(key: str, default: Spec = None) -> Number | None:
            return _resolve(_pick(specs[key], name, default), step, i)

        def norm(direct: str, relative: str, healthy: float, w: Number | None) -> Number | None:
            if given(direct):
                return value(direct)
            ratio = value(relative, healthy)
            return None if ratio is None or w is None else ratio * w

        got = value("has_grad", 1.0 if info["requires_grad"] else 0.0)
        if got is None:
            return
        self.rows.append((step, "param", name, "has_grad", float(got)))
        w = value("weight_norm", 1.0)
        g = None
        if got > 0.5:
            g = norm("grad_norm", "grad_to_weight", HEALTHY_GRAD_TO_WEIGHT, w)
            if g is not None:
                self.rows.append((step, "param", name, "grad_norm", float(g)))
            if given("grad_norm_preclip"):
                raw = value("grad_norm_preclip")
                if raw is not None:
                    self.rows.append((step, "param", name, "grad_norm_preclip", float(raw)))
        if not info["optimized"]:
            return  # the adapter measures updates, weights and lr only for optimized params
        rate = value("lr", info["lr"])
        if got > 0.5 and g is not None and info["optimizer_type"] == "SGD" and rate is not None \
                and (given("grad_to_weight") or given("grad_norm")) \
                and not (given("update_to_weight") or given("update_norm")):
            u = rate * g  # plain SGD: a gradient the test set moves the weight by lr x g
        else:
            u = norm("update_norm", "update_to_weight", HEALTHY_UPDATE_TO_WEIGHT, w)
        if u is not None:
            self.rows.append((step, "param", name, "update_norm", float(u)))
        if w is not None:
            self.rows.append((step, "param", name, "weight_norm", float(w)))
        if rate is not None:
            self.rows.append((step, "param", name, "lr", float(rate)))

    def _module_rows(self, name: str, info: dict[str, Any], step: int, i: int,
                     overrides: Mapping[str, Spec]) -> None:
        relu = info["activation"] in ("relu", "leaky_relu")
        defaults: dict[str, Spec] = {
            "act_mean": 0.3 if relu else 0.0,
            "act_std": 1.0,
            "act_zero_frac": 0.5 if relu else 0.0,
            "act_nonfinite": 0.0,
            "act_saturated_frac": 0.0,
        }
        if relu:
            defaults["dead_frac"] = 0.0
        for metric, spec in {**defaults, **overrides}.items():
            v = _resolve(spec, step, i)
            if v is not None:
                self.rows.append((step, "module", name, metric, float(v)))

    def loss(self, steps: Iterable[int], spec: Spec = healthy_loss) -> "SyntheticRun":
        """Losses alone: the adapter records the loss every step, full stats on a schedule."""
        for i, step in enumerate(steps):
            value = _resolve(spec, step, i)
            if value is not None:
                self.losses.append((step, float(value)))
        return self

    def criterion(self, steps: Sequence[int], loss: Spec, reference: Spec,
                  family: str = "cross_entropy") -> "SyntheticRun":
        """The loss function's window means and its reference (the best constant prediction's
        loss) at these steps, each window covering the steps since the previous one, as the
        adapters record them (role ``loss``)."""
        previous = -1
        for i, step in enumerate(steps):
            for metric, spec in (("criterion_loss", loss), ("reference_loss", reference),
                                 ("criterion_steps", step - previous)):
                v = _resolve(spec, step, i)
                if v is not None:
                    self.rows.append((step, "loss", family, metric, float(v)))
            previous = step
        return self

    def event(self, step: int, kind: str, name: str = "", **detail: Any) -> "SyntheticRun":
        self.events.append((step, kind, name, detail))
        return self

    def set_meta(self, **values: Any) -> "SyntheticRun":
        self.meta.update(values)
        return self

    def job(self, world: int, per_rank: Callable[["SyntheticRun", int], "SyntheticRun"], *,
            placement: str | None = None) -> "SyntheticRun":
        """A ``torch.distributed`` job of ``world`` ranks: this run is the parent (it records
        nothing itself), each rank a worker store ``processes/<pid>/`` built by
        ``per_rank(run, rank)``; ``placement`` is given to every rank's parameters."""
        for rank in range(world):
            sub = SyntheticRun(self.folder / PROCESSES, str(1000 + rank),
                               optimizer_type=self.optimizer_type, lr=self.lr, owner=self.owner)
            sub.set_meta(rank=rank, world_size=world, mode="process", status="finished")
            sub = per_rank(sub, rank)
            for name in sub.params:
                sub._explicit[name].setdefault("placement", placement)
            self._ranks.append(sub)
        return self

    # -- output -----------------------------------------------------------------------------
    def entity_rows(self) -> list[tuple[str, str, int, dict[str, Any]]]:
        """Entities as the adapter describes them: feeds/followed_by derived from the wiring."""
        consumers: dict[str, list[str]] = {}
        for name, info in self.modules.items():
            for producer in info["inputs_from"]:
                consumers.setdefault(producer, []).append(name)
        rows = [("module", n, i, dict(info)) for i, (n, info) in enumerate(self.modules.items())]
        for i, (name, info) in enumerate(self.params.items()):
            info = dict(info)
            module = info["module"]
            feeds = consumers.get(module or "", [])
            following = [a for a in (self.modules[c]["activation"] for c in feeds) if a]
            info["feeds"] = feeds
            info["followed_by"] = following[0] if following else None
            info.update(self._explicit.get(name, {}))
            rows.append(("param", name, i, info))
        return rows

    def write(self) -> Path:
        store = RunStore.create(self.folder)
        try:
            store.set_meta(**self.meta)
            store.add_entities(self.entity_rows())
            if self.rows:
                store.add_stats(self.rows)
            if self.losses:
                store.add_losses(self.losses)
            for step, kind, name, detail in self.events:
                store.add_event(step, kind, name, detail)
        finally:
            store.close()
        return self.folder

    def open(self) -> RunView:
        """The run as detectors see it (a job: rank 0's view of it, ``core.job``)."""
        if self._view is None:
            self.write()
            for rank in self._ranks:
                rank.write()
            job = Job.open(self.folder) if self._ranks else None
            if job is not None and job.ranks:
                self._view = job.view()
            else:
                if job is not None:
                    job.close()
                self._view = RunView.open(self.folder)
        return self._view  # type: ignore[no-any-return]
