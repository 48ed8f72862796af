"""The order ``gradsight fix`` tries repairs in, learning-rate steps and combinations, and the
repair space's names: pure functions of a baseline's findings and the trials so far."""

from __future__ import annotations

import pytest

from gradsight.fix import plan as plan_mod
from gradsight.fix.plan import Cause, Plan, cause, raise_factor
from gradsight.fix.repairs import ModelInfo, TrialHooks
from gradsight.fix.space import LR_LIMIT, combine, family, lr_name, resolve
from gradsight.fix.trials import Trial

RELU_SGD = ModelInfo({"0": "relu", "2": "relu", "4": None}, ["SGD"], 3)


def _finding(kind: str, step: int = 0, severity: str = "error", advice=()) -> dict:
    return {"kind": kind, "severity": severity, "step": step, "where": ["0.weight"],
            "advice": list(advice)}


def _trial(repair: str, *kinds: str, loss: float | None = 1.0, step: int = 0,
           advice=()) -> Trial:
    return Trial(repair, [_finding(k, step, advice=advice) for k in kinds], loss, 1.0)


def test_cause_is_read_from_the_root_finding_and_its_step() -> None:
    assert cause(_trial("none", "dead_units", step=0)) is Cause.INIT  # dead before any update
    assert cause(_trial("none", "dead_units", step=5)) is Cause.TOO_LARGE  # an update killed them
    assert cause(_trial("none", "exploding_gradient", "nonfinite", step=3)) is Cause.TOO_LARGE
    assert cause(_trial("none", "nonfinite", step=0)) is Cause.INIT  # the first forward
    assert cause(_trial("none", "stalled_weights", "loss_not_decreasing")) is Cause.TOO_SMALL
    assert cause(_trial("none", "stalled_weights", "vanishing_gradient")) is Cause.INIT
    assert cause(_trial("none", "loss_diverging", "poor_initialization", step=4)) is Cause.INIT
    # a growth is judged over updates: its window may start at step 0, the cause is the step
    assert cause(_trial("none", "loss_diverging", "dead_units", step=0)) is Cause.TOO_LARGE
    # the stability kinds are growths over updates too, and get the learning rate first
    logits = _trial("none", "attention_logit_growth", "loss_diverging", step=0)
    assert cause(logits) is Cause.TOO_LARGE
    queue = Plan(logits, RELU_SGD).queue
    assert queue[0] == "lr:/10" and "norm:qk" in queue


def test_blowup_after_updates_tries_a_lower_learning_rate_first() -> None:
    baseline = _trial("none", "exploding_gradient", "loss_diverging", "nonfinite", step=3,
                      loss=None)
    queue = Plan(baseline, RELU_SGD).queue
    assert queue[0] == "lr:/10" and queue[1] == "clip:1"
    assert [family(n) for n in queue].index("init") > queue.index("clip:1")


def test_exploding_recurrent_layer_is_clipped_first() -> None:
    clip = {"action": "clip_grad_norm", "args": {"max_norm": 1.0, "recurrent": True}}
    baseline = _trial("none", "exploding_gradient", step=7, advice=[clip])
    assert Plan(baseline, RELU_SGD).queue[:2] == ["clip:1", "lr:/10"]


def test_units_killed_by_updates_get_a_lower_learning_rate_first() -> None:
    queue = Plan(_trial("none", "dead_units", step=5), RELU_SGD).queue
    assert queue[0] == "lr:/10" and "init:he" in queue


def test_init_faults_try_inits_first_matched_to_the_activation() -> None:
    queue = Plan(_trial("none", "poor_initialization", "vanishing_gradient"), RELU_SGD).queue
    assert queue[0] == "init:he" and all(family(n) == "init" for n in queue[:4])
    assert "lr:x10" in queue  # slow, but by the init: one step up as a check, not the stall's
    tanh = ModelInfo({"0": "tanh", "2": None}, ["SGD"], 2)
    assert Plan(_trial("none", "vanishing_gradient"), tanh).queue[0] == "init:xavier"


def test_stall_raises_the_learning_rate_by_the_measured_factor() -> None:
    raise_lr = {"action": "raise_lr", "args": {"factor": 2.4e4}}  # update ratio ~4e-8
    baseline = _trial("none", "stalled_weights", "loss_not_decreasing", advice=[raise_lr])
    assert raise_factor(baseline) == LR_LIMIT  # 10^round(log10(2.4e4)) = 1e4, the limit
    queue = Plan(baseline, RELU_SGD).queue
    assert queue[:2] == [lr_name(LR_LIMIT), "optimizer:adam"]
    small = _trial("none", "stalled_weights", advice=[{"action": "raise_lr",
                                                       "args": {"factor": 300.0}}])
    assert Plan(small, RELU_SGD).queue[0] == "lr:x100"
    assert raise_factor(_trial("none", "loss_not_decreasing")) == 10.0  # no measured factor


def test_learning_rate_steps_on_while_the_symptom_stays() -> None:
    baseline = _trial("none", "loss_diverging", "dead_units", step=4)
    plan = Plan(baseline, RELU_SGD)
    done = [_trial(plan.next([]), "loss_diverging", "dead_units", step=4)]
    assert done[0].repair == "lr:/10"
    assert plan.next(done) == "lr:/100"  # still diverging: one more power of ten
    done.append(_trial("lr:/100"))  # resolved: no further step
    assert plan.next(done) not in ("lr:/1000", None)
    up = Plan(_trial("none", "stalled_weights", "loss_not_decreasing"), RELU_SGD)
    assert up.next([]) == "lr:x10"
    assert up.next([_trial("lr:x10", "loss_not_decreasing")]) == "lr:x100"
    up = Plan(_trial("none", "stalled_weights", "loss_not_decreasing"), RELU_SGD)
    up.next([])
    assert up.next([_trial("lr:x10", "loss_not_decreasing", "nonfinite")]) != "lr:x100"


def test_learning_rate_steps_stop_when_the_step_goes_the_wrong_way() -> None:
    down = Plan(_trial("none", "dead_units", step=5, loss=0.5), RELU_SGD)
    assert down._lr_step(_trial("lr:/10", "dead_units", loss=0.2)) == "lr:/100"
    assert down._lr_step(_trial("lr:/10", "dead_units", loss=0.9)) is None  # worse loss
    # a new plateau warning with a lower loss: still the right way (units still dying)
    assert down._lr_step(_trial("lr:/10", "dead_units", "loss_not_decreasing",
                                loss=0.2)) == "lr:/100"
    assert down._lr_step(_trial("lr:/10", "dead_units", "loss_not_decreasing",
                                loss=0.6)) is None
    blowup = Plan(_trial("none", "nonfinite", step=3, loss=None), RELU_SGD)
    assert blowup._lr_step(_trial("lr:/10", "nonfinite", loss=None)) == "lr:/100"  # still NaN
    # a slower blow-up shows exploding gradients before its NaN: the same symptom, go on
    assert blowup._lr_step(_trial("lr:/10", "nonfinite", "exploding_gradient",
                                  loss=None)) == "lr:/100"
    assert blowup._lr_step(_trial("lr:/10", "nonfinite", "stalled_weights", loss=None)) is None
    # the init is the cause: the slow findings follow from it, a larger rate is only a check
    init = Plan(_trial("none", "dead_units", "stalled_weights", "loss_not_decreasing"),
                RELU_SGD)
    assert init.cause is Cause.INIT and "lr:x10" in init.queue
    assert init._lr_step(_trial("lr:x10", "dead_units", "stalled_weights")) is None


def test_learning_rate_steps_stop_at_the_limit() -> None:
    baseline = _trial("none", "loss_diverging", step=4)
    plan = Plan(baseline, RELU_SGD)
    assert plan._lr_step(_trial(lr_name(1 / LR_LIMIT * 10), "loss_diverging")) == \
        lr_name(1 / LR_LIMIT)
    assert plan._lr_step(_trial(lr_name(1 / LR_LIMIT), "loss_diverging")) is None
    stall = Plan(_trial("none", "stalled_weights"), RELU_SGD)
    assert stall._lr_step(_trial(lr_name(LR_LIMIT / 10), "stalled_weights")) == lr_name(LR_LIMIT)
    assert stall._lr_step(_trial(lr_name(LR_LIMIT), "stalled_weights")) is None


def test_two_helpful_repairs_are_combined_when_each_alone_leaves_findings() -> None:
    baseline = _trial("none", "exploding_gradient", "dead_units", step=3, loss=5.0)
    plan = Plan(baseline, RELU_SGD)
    plan.queue = []  # the singles are spent
    done = [_trial("lr:/10", "dead_units", loss=2.0), _trial("init:he", "exploding_gradient",
                                                             loss=3.0),
            _trial("init:xavier", "exploding_gradient", loss=4.0),
            _trial("norm:layer", "exploding_gradient", "dead_units", loss=0.5),  # removed none
            _trial("clip:1", "exploding_gradient", "dead_units", "nonfinite", loss=None)]
    first = plan.next(done)
    assert first == "init:he + lr:/10"  # the best two helpful ones, of different families
    done.append(_trial(first, "dead_units"))
    assert plan.next(done) == "init:xavier + lr:/10"
    done.append(_trial("init:xavier + lr:/10", "dead_units"))
    assert plan.next(done) is None  # MAX_COMBINATIONS


def test_a_cured_repair_that_leaves_a_rate_symptom_is_followed_up_with_the_rate() -> None:
    """Normalization ends the saturation but the layer it made scale-invariant now stalls: the
    next trial is the same repair with the rate raised by the factor the stall measured."""
    baseline = _trial("none", "saturated_activation", loss=0.45)
    tanh = ModelInfo({"0": "tanh", "2": None}, ["SGD"], 2)
    plan = Plan(baseline, tanh)
    stall = {"action": "raise_lr", "args": {"factor": 80.0}}
    done = [_trial("init:xavier", "saturated_activation"),
            _trial("norm:layer", "stalled_weights", loss=0.54, advice=[stall])]
    assert plan.next(done) == combine("norm:layer", "lr:x100")
    # a blow-up after the cure: the rate 10x lower
    assert plan_mod.follow_up(_trial("init:he", "loss_diverging"), baseline) == \
        combine("init:he", "lr:/10")


def test_no_follow_up_when_the_cure_is_partial_or_the_new_problem_is_not_the_rate() -> None:
    baseline = _trial("none", "saturated_activation", loss=0.45)
    follow = plan_mod.follow_up
    assert follow(_trial("norm:layer", "saturated_activation", "stalled_weights"), baseline) \
        is None  # the baseline's problem is still there
    assert follow(_trial("norm:layer", "dead_units"), baseline) is None  # not a rate symptom
    assert follow(_trial("norm:layer", "vanishing_gradient"), baseline) is None  # the init's
    assert follow(_trial("norm:layer"), baseline) is None  # resolved: nothing to follow
    assert follow(_trial("lr:x10", "loss_diverging"), baseline) is None  # the rate was the trial
    failed = Trial("norm:layer", [], None, 1.0, status="error")
    assert follow(failed, baseline) is None
    plan = Plan(baseline, ModelInfo({"0": "tanh"}, ["SGD"], 1), limit=12)
    plan.queue = []
    done = [_trial("norm:layer", "stalled_weights"), _trial("norm:layer + lr:x10",
                                                            "stalled_weights")]
    done += [_trial("init:he", "stalled_weights"), _trial("init:xavier", "stalled_weights")]
    assert plan.next(done[:1]) == "norm:layer + lr:x10"
    assert plan.next(done[:3]) == "init:he + lr:x10"
    assert plan.next(done) is None  # MAX_FOLLOW_UPS


def test_no_combination_once_something_resolved_or_nothing_helped() -> None:
    baseline = _trial("none", "exploding_gradient", step=3, loss=5.0)
    plan = Plan(baseline, RELU_SGD)
    plan.queue = []
    assert plan.next([_trial("lr:/10"), _trial("init:he", "exploding_gradient", loss=1.0)]) is None
    worse = [_trial("lr:/10", "exploding_gradient", loss=9.0),
             _trial("init:he", "exploding_gradient", "dead_units", loss=1.0)]
    assert plan.next(worse) is None


def test_the_plan_stops_at_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = Plan(_trial("none", "vanishing_gradient"), RELU_SGD, limit=2)
    done = [_trial(plan.next([]), "vanishing_gradient")]
    done.append(_trial(plan.next(done), "vanishing_gradient"))
    assert plan.next(done) is None and plan_mod.MAX_TRIALS >= 8


def test_names_resolve_to_repairs_and_combine_one_per_family() -> None:
    assert lr_name(316.2) == "lr:x320" and lr_name(1 / 316.2) == "lr:/320"
    assert lr_name(0.1) == "lr:/10" and lr_name(LR_LIMIT) == "lr:x10000"
    assert resolve("lr:x320").factor == pytest.approx(320)
    assert resolve("lr:/1000").factor == pytest.approx(1e-3)
    both = resolve(combine("lr:/100", "init:he+bias0.1"))
    assert both.name == "init:he+bias0.1 + lr:/100"
    hooks = TrialHooks({})
    torch = pytest.importorskip("torch")
    both.install(torch, hooks)
    assert len(hooks.first_forward) == 1 and len(hooks.step) == 1
    assert "kaiming_normal_" in both.code() and "lr = 0.01 * lr" in both.code()
    with pytest.raises(ValueError, match="at most one repair per family"):
        combine("init:he", "init:xavier")
    with pytest.raises(KeyError, match="lr:x100"):
        resolve("lr:xfast")
    with pytest.raises(KeyError, match="unknown repair"):
        resolve("init:magic")


def test_resolved_means_no_warning_or_error_left_old_or_new() -> None:
    from gradsight.fix import rank

    baseline = _trial("none", "dead_units", step=5, loss=0.13)
    assert rank.resolved(_trial("lr:/100", loss=0.05), baseline)
    # dead units gone, but a 1000x smaller rate stalls: not a working run
    assert not rank.resolved(_trial("lr:/1000", "stalled_weights", "loss_not_decreasing",
                                    loss=2.1), baseline)
    info = Trial("init:he", [_finding("redundant_bias", severity="info")], 0.1, 1.0)
    assert rank.resolved(info, baseline)  # an info finding is not a problem
