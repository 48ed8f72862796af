"""``redundant_bias`` (info): a bias right before a batch norm cancels out."""

from __future__ import annotations

import pytest

from gradsight.core.finding import Severity
from gradsight.detectors.redundant_bias import KIND, ROUNDING_LEVEL, detect

from .synthetic import HEALTHY_GRAD_TO_WEIGHT, SyntheticRun, only

STEPS = range(0, 100, 5)
W = HEALTHY_GRAD_TO_WEIGHT  # the weight's gradient (weight norm 1)


def linear_bn(tmp_path, name="run"):
    """Seed 002: Linear -> BatchNorm1d -> ReLU -> Linear."""
    return (
        SyntheticRun(tmp_path, name)
        .layer("0", shape=(16, 4)).batchnorm("1", 16).act("2").layer("3", shape=(1, 16))
    )


def test_healthy_run_has_no_finding(tmp_path):
    run = SyntheticRun(tmp_path).mlp([4, 16, 16, 1]).steps(STEPS, grad_to_weight=1e-8).open()
    assert detect(run) == []  # tiny bias gradients, but no batch norm after them


def test_bias_before_batchnorm_with_rounding_level_gradient(tmp_path):
    run = linear_bn(tmp_path).steps(range(2, 100, 5), grad_to_weight={"0.bias": W * 1e-8}).open()
    finding = only(detect(run))
    assert finding.kind == KIND == "redundant_bias"
    assert finding.severity == Severity.INFO
    assert finding.where == ["0.bias"]
    assert finding.step == 2
    assert finding.evidence["bias_to_weight_grad_median"] == pytest.approx({"0.bias": 1e-8})
    assert "0.bias" in finding.summary and "(1)" in finding.summary
    assert any("bias=False" in fix for fix in finding.fixes)


def test_large_bias_gradient_is_not_redundant(tmp_path):
    run = linear_bn(tmp_path).steps(STEPS).open()  # bias gradient as large as the weight's
    assert detect(run) == []


@pytest.mark.parametrize("factor, fires", [(0.99, True), (1.0, False), (1.01, False)])
def test_boundary_at_rounding_level(tmp_path, factor, fires):
    bias = W * ROUNDING_LEVEL * factor
    run = linear_bn(tmp_path).steps(STEPS, grad_to_weight={"0.bias": bias}).open()
    assert [f.where for f in detect(run)] == ([["0.bias"]] if fires else [])


def test_conv_before_batchnorm2d(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("conv", "Conv2d", (8, 3, 3, 3)).batchnorm("bn", 8, "BatchNorm2d").act("relu")
        .layer("fc", shape=(10, 8))
        .steps(STEPS, grad_to_weight={"conv.bias": W * 1e-7})
        .open()
    )
    assert only(detect(run)).where == ["conv.bias"]


def test_batchnorm_own_bias_is_not_redundant(tmp_path):
    run = linear_bn(tmp_path).steps(STEPS, grad_to_weight={"1.bias": 1e-9}).open()
    assert detect(run) == []


def test_where_follows_forward_order(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .module("a", "Linear").batchnorm("bn_a", 16).module("b", "Linear").batchnorm("bn_b", 16)
        .param("b.weight", (16, 16), module="b").param("b.bias", (16,), module="b")
        .param("a.weight", (16, 4), module="a").param("a.bias", (16,), module="a")
        .steps(STEPS, grad_to_weight={"a.bias": 1e-9, "b.bias": 1e-9})
        .open()
    )
    assert only(detect(run)).where == ["a.bias", "b.bias"]
