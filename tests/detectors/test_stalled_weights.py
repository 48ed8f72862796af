"""``stalled_weights``: optimized, with gradients, yet each step moves it by almost nothing."""

from __future__ import annotations

import pytest

from gradsight.core.finding import Severity
from gradsight.detectors import not_optimized
from gradsight.detectors._common import MIN_STEPS
from gradsight.detectors.stalled_weights import (
    HEALTHY_RATIO,
    KIND,
    LR_ACTIVE_FRACTION,
    STALL_RATIO,
    detect,
)

from .synthetic import NAN, SyntheticRun, only, when

STEPS = range(0, 100, 5)
PEAK = 0.1
TINY = STALL_RATIO * 1e-2


def mlp(tmp_path, name="run", **kw):
    return SyntheticRun(tmp_path, name, **kw).mlp([4, 16, 16, 1])


def test_healthy_run_has_no_finding(tmp_path):
    assert detect(mlp(tmp_path).steps(STEPS).open()) == []


def test_layer_that_barely_moves(tmp_path):
    run = (
        mlp(tmp_path)
        .steps(STEPS, update_to_weight={"2.weight": TINY, "2.bias": TINY}, weight_norm=4.0)
        .open()
    )
    finding = only(detect(run))
    assert finding.kind == KIND == "stalled_weights"
    assert finding.severity == Severity.WARNING
    assert finding.where == ["2.weight", "2.bias"]
    assert finding.step == 0
    ev = finding.evidence
    assert ev["update_to_weight_median"] == pytest.approx({"2.weight": TINY, "2.bias": TINY})
    assert ev["threshold"] == STALL_RATIO
    assert ev["learning_rate"] == pytest.approx(PEAK)
    assert ev["optimizer"] == "SGD"
    assert f"{HEALTHY_RATIO:g}" in finding.summary
    assert any("model[2].weight" in fix for fix in finding.fixes)
    assert any("Adam" in fix for fix in finding.fixes)


def test_adam_run_gets_no_switch_to_adam_advice(tmp_path):
    run = (
        mlp(tmp_path, optimizer_type="Adam")
        .steps(STEPS, update_to_weight={"0.weight": TINY})
        .open()
    )
    finding = only(detect(run))
    assert finding.evidence["optimizer"] == "Adam"
    assert not any("use an adaptive optimizer" in fix for fix in finding.fixes)


def test_where_follows_forward_order(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .module("a", "Linear").act("r").module("b", "Linear")
        .param("b.weight", (1, 16), module="b").param("a.weight", (16, 4), module="a")
        .steps(STEPS, update_to_weight=TINY)
        .open()
    )
    assert only(detect(run)).where == ["a.weight", "b.weight"]


@pytest.mark.parametrize("factor, fires", [(0.99, True), (1.0, False), (1.01, False)])
def test_boundary_at_stall_ratio(tmp_path, factor, fires):
    run = mlp(tmp_path).steps(STEPS, update_to_weight={"0.weight": STALL_RATIO * factor}).open()
    assert [f.where for f in detect(run)] == ([["0.weight"]] if fires else [])


@pytest.mark.parametrize("n, fires", [(MIN_STEPS, True), (MIN_STEPS - 1, False)])
def test_boundary_at_min_steps(tmp_path, n, fires):
    run = mlp(tmp_path).steps(range(n), update_to_weight={"0.weight": TINY}).open()
    assert [f.where for f in detect(run)] == ([["0.weight"]] if fires else [])


def schedule(step: int) -> float:
    """Warm-up from 0 over 10 steps, peak until 30, then decayed to ~0 (most of the run)."""
    if step < 10:
        return PEAK * step / 10
    return PEAK if step < 30 else PEAK * 1e-4 * (99 - step) / 69


def test_warm_up_from_zero_and_decay_to_zero_are_not_stalls(tmp_path):
    """Updates follow the lr: near 0 in warm-up and after the decay, healthy at the peak. Most
    recorded steps have tiny updates, so counting them would report a stall."""
    run = (
        mlp(tmp_path)
        .steps(range(100), lr=schedule, update_to_weight=lambda s: 1e-2 * schedule(s))
        .open()
    )
    lr = run.metric("param", "lr")["0.weight"].values
    assert lr[0] == 0 and lr[-1] == 0
    assert (lr < LR_ACTIVE_FRACTION * PEAK).mean() > 0.5
    assert detect(run) == []


@pytest.mark.parametrize("fraction, fires", [(0.99, False), (1.0, True), (1.01, True)])
def test_boundary_at_lr_active_fraction(tmp_path, fraction, fires):
    """Steps 0-9: lr 0 (never judged). Steps 10-29 at the peak with healthy updates; steps
    30-99 at ``fraction`` x LR_ACTIVE_FRACTION of the peak with stalled updates: judged once
    they reach the active fraction, and then they are the majority."""
    low = PEAK * LR_ACTIVE_FRACTION * fraction

    def lr(step):
        return 0.0 if step < 10 else PEAK if step < 30 else low

    run = (
        mlp(tmp_path)
        .steps(range(100), lr={"0.weight": lr},
               update_to_weight={"0.weight": lambda s: 0.0 if s < 10 else 1e-3 if s < 30 else TINY})
        .open()
    )
    findings = detect(run)
    if fires:
        finding = only(findings)
        assert finding.where == ["0.weight"]
        assert finding.step == 10  # the first judged step: lr 0 before it
        assert finding.evidence["update_to_weight_median"]["0.weight"] == pytest.approx(TINY)
    else:
        assert findings == []


def test_lr_zero_throughout_is_left_to_not_optimized(tmp_path):
    zero = {"0.weight": 0.0, "0.bias": 0.0}
    run = mlp(tmp_path).steps(STEPS, lr=zero, update_to_weight=zero).open()
    assert detect(run) == []
    assert [f.where for f in not_optimized.detect(run)] == [["0.weight", "0.bias"]]


def test_unoptimized_and_frozen_parameters_are_not_stalls(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4), requires_grad=False, optimized=False)
        .act("1").layer("2", shape=(16, 16), optimized=False).act("3").layer("4", shape=(1, 16))
        .steps(STEPS, update_to_weight=0.0, weight_norm=1.0)  # only "4" is measured: stalls
        .open()
    )
    assert only(detect(run)).where == ["4.weight", "4.bias"]


def test_bias_before_batchnorm_is_not_a_stall(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4)).batchnorm("1", 16).act("2").layer("3", shape=(1, 16))
        .steps(STEPS, update_to_weight={"0.bias": 1e-9})
        .open()
    )
    assert detect(run) == []


def test_steps_without_gradient_or_with_nonfinite_update_are_not_judged(tmp_path):
    """Only steps 0, 25, 50, 75 have a gradient and a finite, healthy update."""
    judged = {0, 25, 50, 75}
    run = (
        mlp(tmp_path)
        .steps(STEPS,
               has_grad={"0.weight": when(lambda s: s in judged or s % 10 == 5, 1.0, 0.0)},
               update_to_weight={"0.weight": lambda s: 1e-3 if s in judged else
                                 NAN if s % 10 == 5 else 0.0})
        .open()
    )
    assert detect(run) == []


def _fine_tune(tmp_path, lr):  # type: ignore[no-untyped-def]
    """A real transformer classifier trained at 1e-3 first, then watched while AdamW continues
    at ``lr`` on the same task: (findings, median |update| / |weight| of the LayerNorm gains and
    of the matrices, measured here with plain torch)."""
    torch = pytest.importorskip("torch")
    import gradsight

    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(32, 2, 64, dropout=0.0, batch_first=True)
    model = torch.nn.Sequential(torch.nn.Embedding(50, 32), layer)
    head = torch.nn.Linear(32, 2)
    params = [*model.parameters(), *head.parameters()]
    x = torch.randint(0, 50, (256, 12))
    y = (x[:, 0] < 25).long()  # the first token decides

    def step(opt, i):  # type: ignore[no-untyped-def]
        rows = slice(32 * (i % 8), 32 * (i % 8 + 1))
        loss = torch.nn.functional.cross_entropy(head(model(x[rows])[:, 0]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()

    first = torch.optim.AdamW(params, lr=1e-3)
    for i in range(150):
        step(first, i)
    opt = torch.optim.AdamW(params, lr=lr)
    gains = [p for n, p in model.named_parameters() if "norm" in n and n.endswith("weight")]
    mats = [p for p in params if p.ndim == 2]
    ratios: dict[str, list[float]] = {"gains": [], "matrices": []}
    with gradsight.watch(torch.nn.ModuleList([model, head]), opt, out=tmp_path / "run") as w:
        for i in range(60):
            before = [p.detach().clone() for p in gains + mats]
            step(opt, i)
            moved = [float((p.detach() - b).norm() / p.detach().norm())
                     for p, b in zip(gains + mats, before)]
            ratios["gains"] += moved[:len(gains)]
            ratios["matrices"] += moved[len(gains):]
    import statistics
    return w.diagnosis.findings, {k: statistics.median(v) for k, v in ratios.items()}


def test_a_fine_tune_moves_its_norm_gains_slowly_and_is_not_stalled(tmp_path):
    """AdamW at 5e-6 moves every element about the same fraction of the rate, so gains at 1
    move a few 1e-6 of their size while the matrices move a few 1e-5: the rate suits the
    network."""
    findings, measured = _fine_tune(tmp_path, 5e-6)
    assert measured["gains"] < STALL_RATIO < measured["matrices"]  # the case, in plain torch
    assert [f for f in findings if f.kind == KIND] == []


def test_a_learning_rate_too_small_for_every_weight_is_still_a_stall(tmp_path):
    findings, measured = _fine_tune(tmp_path, 1e-8)
    assert measured["matrices"] < STALL_RATIO  # the case: nothing moves
    (finding,) = [f for f in findings if f.kind == KIND]
    assert finding.severity == Severity.WARNING


def _gains(tmp_path, dtype, lr, name="run"):  # type: ignore[no-untyped-def]
    """An MLP and a LayerNorm's 16 gains at 1 (rms 1) stored in ``dtype``, trained by Adam at
    ``lr``; the gains never move, every other weight moves 0.2 x lr per element."""
    run = SyntheticRun(tmp_path, name, optimizer_type="Adam", lr=lr, dtype=dtype)
    run.mlp([4, 16, 16, 1]).layer("norm", "LayerNorm", (16,))
    norms = {n: 4.0 if n == "norm.weight" else 1.0 for n in run.params}
    steps = {n: 0.0 if n == "norm.weight" else 0.2 * lr * float(info["numel"]) ** 0.5
             for n, info in run.params.items()}
    return detect(run.steps(STEPS, weight_norm=norms, update_norm=steps).open())


def test_bfloat16_gains_whose_steps_round_away_get_float32_weights_advised(tmp_path):
    """bfloat16 keeps 8 significant bits: numbers near 1 are 2^-7 apart, and Adam's 1e-4 steps
    (under half of that) leave a gain at 1 exactly where it was."""
    finding = only(_gains(tmp_path, "bfloat16", 1e-4))
    assert finding.where == ["norm.weight"]
    rounded = finding.evidence["rounded_away"]["norm.weight"]
    assert rounded["dtype"] == "bfloat16" and rounded["step_per_element"] == pytest.approx(1e-4)
    assert rounded["half_spacing"] == 2.0 ** -8
    assert "rounds away" in finding.summary and "bfloat16" in finding.summary
    assert [f.action for f in finding.advice] == ["float32_weights"]  # no rate 10,000x higher
    assert "torch.autocast" in finding.fixes[0]


def test_the_same_stall_in_float32_is_not_blamed_on_precision(tmp_path):
    finding = only(_gains(tmp_path, "float32", 1e-4))
    assert "rounded_away" not in finding.evidence
    assert "raise_lr" in [f.action for f in finding.advice]


def test_bfloat16_steps_above_half_the_spacing_are_not_blamed_on_precision(tmp_path):
    """At lr 1e-2 each step is 2.5x half the spacing at 1 (2^-8): a stall there has another
    cause, and the finding says nothing of precision."""
    finding = only(_gains(tmp_path, "bfloat16", 1e-2))
    assert "rounded_away" not in finding.evidence
    assert "float32_weights" not in [f.action for f in finding.advice]


@pytest.mark.parametrize("value", [1.5, 0.3, 3e-3, 700.0])
def test_half_spacing_is_where_float16_rounding_loses_a_step(tmp_path, value):
    """The half spacing the finding reports, checked against numpy's float16 arithmetic: a step
    just under it leaves the number unchanged, one just over it moves it."""
    import numpy as np

    run = SyntheticRun(tmp_path, "run", lr=1e-9, dtype="float16").mlp([4, 16, 16, 1])
    norm = value * 16.0  # 2.weight: 16 x 16 entries whose rms is ``value``
    finding = only(detect(run.steps(STEPS, weight_norm={"2.weight": norm},
                                    update_to_weight={"2.weight": 0.0}).open()))
    half = finding.evidence["rounded_away"]["2.weight"]["half_spacing"]
    w = np.float16(value)
    assert np.float16(w + np.float16(0.9 * half)) == w
    assert np.float16(w + np.float16(1.1 * half)) != w


@pytest.mark.parametrize("network, everywhere", [(5e-5, True), (2e-4, False)])
def test_a_rate_too_small_for_the_whole_network_is_raised_for_all_of_it(
        tmp_path, network, everywhere):
    """Plain SGD at a rate ~20x too small (a DDP tutorial's 1e-4): the norm gains fall under
    the stall line first, but every weight crawls; the fix is the optimizer's rate, not a param
    group for the two slowest. A network moving at 2e-4 (5x under healthy) gets the group."""
    run = mlp(tmp_path).layer("norm", "LayerNorm", (16,))
    ratios = {n: TINY if n == "norm.weight" else network for n in run.params}
    finding = only(detect(run.steps(STEPS, update_to_weight=ratios).open()))
    assert finding.where == ["norm.weight"]
    assert finding.evidence["network_update_to_weight_median"] == pytest.approx(network)
    first = finding.advice[0]
    if everywhere:
        assert "too small for all of it" in finding.summary
        assert first.action == "raise_lr" and "layer" not in first.args
        assert first.args["factor"] == pytest.approx(HEALTHY_RATIO / network)
    else:
        assert "too small for all of it" not in finding.summary
        assert first.action == "check_other_findings"
