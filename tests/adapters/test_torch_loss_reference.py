"""The loss against its reference, the best constant prediction's loss, in real PyTorch runs.

Oracle: the reference is recomputed in numpy from the very targets the script fed to its loss
(entropy of the class counts, binary entropy of the positive rate, variance, deviation about the
running median estimate), and the recorded window means from the loss values the script saw.
Cases: shuffled labels and a broadcasting MSE (a (N, 1) output against (N,) targets) never get
below the reference; a one-unit softmax sits far above it from the start; the same network on
the true labels learns, so its short run is no finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core import metrics as m  # noqa: E402
from gradsight.core.finding import Finding, Severity  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402
from gradsight.detectors.loss_not_decreasing import LEARNED_FRACTION  # noqa: E402


def recorded(folder: Path) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    view = RunView.open(folder)
    try:
        (family, loss), = view.metric(m.LOSS_ROLE, m.CRITERION_LOSS).items()
        ref = view.metric(m.LOSS_ROLE, m.REFERENCE_LOSS)[family]
        covered = view.metric(m.LOSS_ROLE, m.CRITERION_STEPS)[family]
        return family, loss.steps, loss.values, np.c_[ref.values, covered.values]
    finally:
        view.close()


def entropy(p: np.ndarray) -> float:
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


def run(tmp_path: Path, steps: int, batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], width: int = 3,
        name: str = "run") -> tuple[list[Finding], list[float]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, width))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    with gradsight.watch(model, optimizer, out=tmp_path / name) as w:
        for s in range(steps):
            x, y = batch(s)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            with torch.no_grad():  # a validation pass: not the training criterion
                loss_fn(model(x), y)
    return w.findings, losses


G = torch.Generator().manual_seed(3)
X = torch.randn(40 * 32, 4, generator=G)


def rows(s: int) -> slice:
    return slice(32 * s, 32 * (s + 1))


CASES = ["cross_entropy", "weighted", "smoothed", "nll_sum", "bce", "mse", "l1"]


@pytest.mark.parametrize("case", CASES)
def test_reference_and_window_means_match_a_numpy_oracle(tmp_path: Path, case: str) -> None:
    classes = torch.randint(0, 3, (len(X),), generator=G)
    classes[::7] = -100  # ignored positions
    weight = torch.tensor([1.0, 2.0, 0.5])
    real = torch.randn(len(X), 2, generator=G) * torch.tensor([1.0, 3.0]) + 5
    fns = {
        "cross_entropy": (lambda o, y: F.cross_entropy(o, y), classes, 3),
        "weighted": (lambda o, y: nn.CrossEntropyLoss(weight=weight)(o, y), classes, 3),
        "smoothed": (lambda o, y: F.cross_entropy(o, y, label_smoothing=0.2), classes, 3),
        "nll_sum": (lambda o, y: F.nll_loss(F.log_softmax(o, 1), y, reduction="sum"), classes,
                    3),
        "bce": (lambda o, y: F.binary_cross_entropy_with_logits(o, y), (real > 5).float(), 2),
        "mse": (lambda o, y: nn.MSELoss()(o, y), real, 2),
        "l1": (lambda o, y: F.l1_loss(o, y, reduction="none").mean(), real, 2),
    }
    fn, targets, width = fns[case]
    _, losses = run(tmp_path, 40, lambda s: (X[rows(s)], targets[rows(s)]), fn, width)
    family, steps, means, extra = recorded(tmp_path / "run")
    refs, covered = extra[:, 0], extra[:, 1]
    seen = targets[: 32 * 40].numpy().astype(np.float64)
    if family == "cross_entropy":
        counts = np.bincount(seen[seen >= 0].astype(int), minlength=3).astype(float)
        if case == "weighted":
            counts *= weight.numpy()
        p = counts / counts.sum()
        expected = entropy(0.8 * p + 0.2 / 3 if case == "smoothed" else p)
    elif family == "binary_cross_entropy":
        rate = seen.mean(0)
        expected = float(np.mean(-rate * np.log(rate) - (1 - rate) * np.log(1 - rate)))
    elif family == "mse":
        expected = float(seen.var(0).mean())
    else:  # deviations about the running mean of the batch medians (the lower middle value
        batches = seen.reshape(40, 32, 2)  # of an even count, as torch.median), batch by batch
        lower = np.sort(batches, axis=1)[:, 15]
        medians = np.cumsum(lower, 0) / np.arange(1, 41)[:, None]
        expected = float(np.abs(batches - medians[:, None]).mean())
    assert family == {"bce": "binary_cross_entropy", "mse": "mse", "l1": "l1"}.get(
        case, "cross_entropy")
    assert refs[-1] == pytest.approx(expected, rel=1e-6)  # stored as float32
    assert covered.sum() == 40 and steps[-1] == 39  # every step, the last row when it stopped
    per_element = np.array(losses)
    if case == "nll_sum":  # a sum over the positions not ignored
        per_element /= np.array([int((classes[rows(s)] >= 0).sum()) for s in range(40)])
    bounds = np.cumsum(covered).astype(int)
    expected_means = [per_element[a:b].mean() for a, b in zip(np.r_[0, bounds[:-1]], bounds)]
    assert means == pytest.approx(expected_means, rel=1e-5)


def serious(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.at_least(Severity.WARNING)]


def digits(shuffled: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    labels = np.random.default_rng(0).permutation(y) if shuffled else y
    return torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(labels)


def digits_run(tmp_path: Path, shuffled: bool, steps: int = 150) -> tuple[list[Finding], float]:
    x, y = digits(shuffled)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    g = torch.Generator().manual_seed(1)
    losses = []
    with gradsight.watch(model, optimizer, out=tmp_path / "run") as w:
        for _ in range(steps):
            i = torch.randint(0, len(x), (32,), generator=g)
            loss = nn.CrossEntropyLoss()(model(x[i]), y[i])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    prior = entropy(np.bincount(y.numpy(), minlength=10).astype(float))
    lowest = min(np.convolve(losses, np.ones(10) / 10, "valid"))
    return w.findings, lowest / prior


def test_shuffled_labels_never_get_below_the_class_prior(tmp_path: Path) -> None:
    findings, lowest = digits_run(tmp_path, shuffled=True)
    assert lowest > LEARNED_FRACTION  # the case, measured: it never beat the prior
    (finding,) = [f for f in serious(findings) if f.kind == "loss_not_decreasing"]
    assert "never got below" in finding.summary and "class frequencies" in finding.summary
    assert finding.evidence["reference_loss"] == pytest.approx(np.log(10), rel=0.01)
    assert any("labels" in fix for fix in finding.fixes)


def test_a_short_run_that_learned_is_not_flagged(tmp_path: Path) -> None:
    findings, lowest = digits_run(tmp_path, shuffled=False)
    assert lowest < 0.5  # the case: far below what predicting the class frequencies gives
    assert serious(findings) == [], [(f.kind, f.summary) for f in serious(findings)]


def test_broadcasting_mse_sits_at_the_targets_variance(tmp_path: Path) -> None:
    y = X[:, 0] * 2 + X[:, 1]  # (N,): against a (N, 1) output, MSE broadcasts to every pair
    with pytest.warns(UserWarning, match="broadcast"):
        findings, losses = run(tmp_path, 120, lambda s: (X[rows(s % 40)], y[rows(s % 40)]),
                               lambda o, t: F.mse_loss(o, t), width=1)
    # the case: the loss stays at the targets' variance (batches of 32 scatter +-25% about it)
    assert np.mean(losses[-60:]) > 0.9 * float(y.var())
    (finding,) = [f for f in serious(findings) if f.kind == "loss_not_decreasing"]
    assert "targets' mean" in finding.summary


def test_a_one_unit_softmax_is_flat_far_above_the_reference(tmp_path: Path) -> None:
    y = (X[:, 0] > 0).float()[:, None]
    findings, losses = run(tmp_path, 30, lambda s: (X[rows(s)], y[rows(s)]),
                           lambda o, t: F.binary_cross_entropy(F.softmax(o, dim=1), t), width=1)
    # the case: a softmax over one unit is always 1, so each batch's loss is fixed by its
    # labels (BCE clamps log 0 at -100), whatever the weights do
    fixed = [100 * (1 - float(y[rows(s)].mean())) for s in range(30)]
    assert losses == pytest.approx(fixed, rel=1e-6)
    (finding,) = [f for f in serious(findings) if f.kind == "loss_not_decreasing"]
    assert finding.evidence["lowest_to_reference"] > 10
    assert any("softmax over one unit" in fix for fix in finding.fixes)
