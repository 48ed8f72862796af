"""``no_gradient``: a parameter that requires a gradient never receives one."""

from __future__ import annotations

from gradsight.core.finding import Severity
from gradsight.detectors.no_gradient import KIND, detect

from .synthetic import SyntheticRun, only

STEPS = range(0, 100, 5)
NO_GRAD_BN = {"bn.weight": 0.0, "bn.bias": 0.0}


def test_healthy_run_has_no_finding(tmp_path):
    run = SyntheticRun(tmp_path).mlp([4, 16, 16, 1]).steps(STEPS).open()
    assert detect(run) == []


def test_layer_whose_output_is_dropped(tmp_path):
    """Seed 002: ``self.bn(x)`` computed on the input, result thrown away."""
    run = (
        SyntheticRun(tmp_path)
        .batchnorm("bn", 4, used=False)
        .mlp([4, 16, 1])
        .steps(STEPS, has_grad=NO_GRAD_BN)
        .open()
    )
    finding = only(detect(run))
    assert finding.kind == KIND == "no_gradient"
    assert finding.severity == Severity.WARNING
    assert finding.where == ["bn.weight", "bn.bias"]
    assert finding.step == 0
    assert finding.evidence["recorded_steps"] == len(STEPS)
    assert finding.evidence["by_module"] == {"bn": ["bn.weight", "bn.bias"]}
    assert finding.evidence["module_output_used"] is False
    assert finding.evidence["optimized"] is True
    assert "bn (BatchNorm1d)" in finding.summary
    assert "never used" in finding.summary
    assert finding.fixes


def test_detached_layer_reports_not_connected(tmp_path):
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 16, 1])
        .steps(STEPS, has_grad={"0.weight": 0.0, "0.bias": 0.0})
        .open()
    )
    finding = only(detect(run))
    assert finding.where == ["0.weight", "0.bias"]
    assert finding.evidence["module_output_used"] is True
    assert "not connected" in finding.summary


def test_where_follows_forward_order_not_registration_order(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .module("body", "Linear").module("head", "Linear")
        # registered head first (as in __init__), run body first (as in forward)
        .param("head.weight", (1, 16), module="head").param("head.bias", (1,), module="head")
        .param("body.weight", (16, 4), module="body").param("body.bias", (16,), module="body")
        .steps(STEPS, has_grad=0.0)
        .open()
    )
    finding = only(detect(run))
    assert finding.where == ["body.weight", "body.bias", "head.weight", "head.bias"]
    assert list(finding.evidence["by_module"]) == ["body", "head"]


def test_frozen_parameters_are_not_findings(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4), requires_grad=False, optimized=False)
        .act("1").layer("2", shape=(1, 16))
        .steps(STEPS)  # requires_grad=False: has_grad 0 at every step
        .open()
    )
    assert run.metric("param", "has_grad")["0.weight"].values.max() == 0
    assert detect(run) == []


def test_frozen_and_disconnected_only_the_disconnected_one_reported(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4), requires_grad=False, optimized=False)
        .batchnorm("bn", 16, used=False)
        .layer("2", shape=(1, 16))
        .steps(STEPS, has_grad=NO_GRAD_BN)
        .open()
    )
    assert only(detect(run)).where == ["bn.weight", "bn.bias"]


def test_boundary_one_gradient_in_the_whole_run_is_enough(tmp_path):
    last = STEPS[-1]
    once = (
        SyntheticRun(tmp_path, "once").mlp([4, 16, 1])
        .steps(STEPS, has_grad={"0.weight": lambda s: 1.0 if s == last else 0.0})
        .open()
    )
    never = (
        SyntheticRun(tmp_path, "never").mlp([4, 16, 1])
        .steps(STEPS, has_grad={"0.weight": 0.0})
        .open()
    )
    assert detect(once) == []
    assert only(detect(never)).where == ["0.weight"]


def test_step_is_the_first_recorded_step(tmp_path):
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 1])
        .steps(range(7, 100, 10), has_grad={"2.bias": 0.0})
        .open()
    )
    finding = only(detect(run))
    assert (finding.where, finding.step) == (["2.bias"], 7)
    assert finding.evidence["recorded_steps"] == 10


LIGHTNING_DDP_ERROR = (
    "RuntimeError: It looks like your LightningModule has parameters that were not used in "
    "producing the loss returned by training_step. If this is intentional, you must enable the "
    "detection of unused parameters in DDP, either by setting the string value "
    "`strategy='ddp_find_unused_parameters_true'` or by setting the flag in the strategy with "
    "`strategy=DDPStrategy(find_unused_parameters=True)`.")


def _gan_stopped(tmp_path, error):  # type: ignore[no-untyped-def]
    """A GAN's first step under DDP: the generator stepped once; the discriminator, switched
    off for that step (requires_grad=False), never had a step before DDP stopped the job."""
    run = SyntheticRun(tmp_path).mlp([4, 16, 1])
    run.layer("disc", "Linear", (1, 4), requires_grad=False, optimized=False)
    run.meta["error"] = error
    return detect(run.steps([0], has_grad={"disc.weight": None, "disc.bias": None}).open())


def test_a_job_ddp_stopped_before_the_switched_off_part_stepped(tmp_path):
    finding = only(_gan_stopped(tmp_path, LIGHTNING_DDP_ERROR))
    assert finding.where == ["disc.weight", "disc.bias"]
    assert finding.evidence["switched_off"] == ["disc.weight", "disc.bias"]
    assert finding.evidence["stopped_the_job"].startswith("RuntimeError: It looks like")
    assert "ddp_find_unused_parameters_true" in finding.fixes[0]


def test_a_crash_of_another_kind_is_not_a_ddp_stop(tmp_path):
    assert _gan_stopped(tmp_path, "RuntimeError: mat1 and mat2 shapes cannot be multiplied") == []
