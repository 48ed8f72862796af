"""torch.distributed: what a watched process needs to know of the job it is part of.

Each rank records its own store (``run/workers.py``); the job is put together at diagnosis
(``core/job.py``), so nothing here adds a collective to the training step:

- a parameter sharded by FSDP2 (a ``DTensor``) is measured on this rank's local shard, and its
  description says how it is placed (``placement``): the whole parameter's norms are the
  square root of the ranks' summed squares, merged at diagnosis;
- a data-parallel wrapper (``DistributedDataParallel``, ``DataParallel``) is unwrapped,
  so parameters have the names of the model the user wrote (``0.weight``, not
  ``module.0.weight``); the parameters it replicates are described as replicas;
- a replica's *fingerprint* on detail steps (a float64 weighted sum of a fixed sample of its
  elements) lets the diagnosis tell whether replicas that should be identical are.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ...core import metrics as m
from ...core.recorder import Recorder
from .stats import HostCopy, is_dtensor, local
from .step_meter import sample_view

REPLICATE = "replicate"  # every rank holds the whole parameter, and all should hold the same
FINGERPRINT_SAMPLE = 4096  # elements summed per parameter (all of a smaller one)

def world() -> tuple[int, int] | None:
    """(rank, world size) while this process is in a process group of several ranks."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return int(dist.get_rank()), int(dist.get_world_size())
    except Exception:  # noqa: BLE001 - a half-torn-down group is "not in a job"
        pass
    return None


def note_job_at_first_step(set_meta: Any) -> Any:
    """Tell the store (``set_meta(**meta)``) this process's rank and the job's size at the
    first optimizer step: the rank is known between ``init_process_group`` and
    ``destroy_process_group``, ``mp.spawn`` sets no ``RANK`` variable, and a launcher may
    itself be rank 0 (Lightning's DDP starts the other ranks and trains as the first). Returns
    the hook's handle, to remove when watching ends."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    done = []

    def once(*_args: Any) -> None:
        # not removed here: torch is iterating over its hooks, and removing one that another
        # follows raises "OrderedDict mutated during iteration" in the user's step
        if not done:
            done.append(True)
            job = describe_world()
            if job:
                set_meta(**job)

    return register_optimizer_step_post_hook(once)


def placement(param: torch.Tensor, replicated: bool) -> str | None:
    """How ``param`` lies across ranks: ``"shard(0)"`` (FSDP2: ranks hold disjoint rows),
    ``REPLICATE`` (a DDP replica, or a DTensor every rank holds whole), None (one process)."""
    if is_dtensor(param):
        shards = [p for p in param.placements if p.is_shard()]  # type: ignore[attr-defined]
        if not shards:
            return REPLICATE
        return ",".join(f"shard({p.dim})" for p in shards)  # type: ignore[attr-defined]
    return REPLICATE if replicated else None


def unwrap(module: nn.Module) -> tuple[nn.Module, bool]:
    """The model inside data-parallel wrappers, and whether a wrapper replicates it."""
    replicated = False
    while True:
        inner = _wrapped(module)
        if inner is None:
            return module, replicated
        replicated = replicated or _replicates(module)
        module = inner


def unwrap_all(roots: Sequence[nn.Module]) -> tuple[list[nn.Module], set[int]]:
    """``roots`` with every wrapper replaced by the model inside (once, in order), and the
    ids of the parameters a DDP wrapper replicates."""
    out: list[nn.Module] = []
    replicated: set[int] = set()
    for root in roots:
        inner, replicas = unwrap(root)
        if replicas:
            replicated.update(id(p) for p in inner.parameters())
        if all(inner is not m for m in out):
            out.append(inner)
    return out, replicated


def placements(params: Sequence[torch.Tensor], replicated: set[int]) -> dict[int, str]:
    """``placement`` of each parameter that has one, by id."""
    out = {}
    for p in params:
        where = placement(p, id(p) in replicated)
        if where is not None:
            out[id(p)] = where
    return out


def record_fingerprints(recorder: Recorder, step: int, names: Sequence[str],
                        params: Sequence[torch.Tensor], placements: Mapping[int, str]) -> None:
    """The fingerprints of the parameters each rank holds whole, as rows of the step."""
    whole = [(n, p) for n, p in zip(names, params)
             if placements.get(id(p), REPLICATE) == REPLICATE]
    if whole:
        values = fingerprints([p for _, p in whole])[:, None]
        recorder.record(step, "param", [n for n, _ in whole], (m.FINGERPRINT,), HostCopy(values))


def fingerprints(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per parameter, a float64 weighted sum of a fixed strided sample of its (local) elements,
    on the device. The sample positions and the weights depend only on the sample's length, so
    ranks holding identical replicas get bit-identical sums, and any element that differs
    changes it. Weighted, not a plain sum: some updates keep a plain sum fixed (the gradient
    of a softmax cross-entropy sums to 0 over the classes, so the output layer's weights and
    bias keep their sum however far two unsynchronized replicas drift)."""
    sums = []
    for p in params:
        d = local(p).detach()
        view = sample_view(d, FINGERPRINT_SAMPLE)
        if view is None:  # not dense in memory: a strided slice of a flat copy
            flat = d.reshape(-1)
            view = flat[:: max(1, math.ceil(flat.numel() / FINGERPRINT_SAMPLE))]
        sums.append(torch.dot(view.to(torch.float64), _weights(view.numel(), view.device)))
    return torch.stack([s.to(sums[0].device) for s in sums])


_WEIGHTS: dict[tuple[int, torch.device], torch.Tensor] = {}


def _weights(n: int, device: torch.device) -> torch.Tensor:
    """``n`` fixed pseudo-random weights in [1, 2), the same on every rank (a seeded CPU
    generator), made once per length and device."""
    key = (n, device)
    cached = _WEIGHTS.get(key)
    if cached is None:
        generator = torch.Generator().manual_seed(n)
        cached = _WEIGHTS[key] = (1 + torch.rand(n, generator=generator,
                                                 dtype=torch.float64)).to(device)
    return cached


def _wrapped(module: nn.Module) -> nn.Module | None:
    cls = type(module)
    names = {c.__name__ for c in cls.__mro__}
    if names & {"DistributedDataParallel", "DataParallel"}:
        inner = getattr(module, "module", None)
        return inner if isinstance(inner, nn.Module) else None
    return None


def _replicates(module: nn.Module) -> bool:
    """DDP keeps a whole copy per rank (DataParallel is one process: nothing to compare)."""
    return any(c.__name__ == "DistributedDataParallel" for c in type(module).__mro__)


def describe_world() -> dict[str, Any]:
    """What the store's meta says of the job (rank, world size, backend); empty outside one."""
    where = world()
    if where is None:
        return {}
    import torch.distributed as dist

    try:
        backend = str(dist.get_backend())
    except Exception:  # noqa: BLE001
        backend = None
    return {"rank": where[0], "world_size": where[1], "backend": backend}
