"""The stability kinds are causal: the step a finding reports is the step a run watched live would
have been warned at. Cut the run right after that step and the finding is there, with the same
step; cut it just before and it is not. And ``diagnose`` puts them before what they cause."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gradsight.core.detect import diagnose
from gradsight.core.finding import Severity
from gradsight.core.synthetic import SyntheticRun
from gradsight.detectors import attention_logit_growth as attn
from gradsight.detectors import output_logit_divergence as output
from gradsight.detectors import update_spike as update


def _attention(t: Path, name: str, steps: int, nan_from: int | None = None) -> SyntheticRun:
    run = SyntheticRun(t, name)
    for i in range(2):
        run.layer(f"blocks.{i}.ln_1", "LayerNorm", (32,))
        run.module(f"blocks.{i}.attn", "Attention")
        run.layer(f"blocks.{i}.attn.qkv", "Linear", (96, 32), bias=False)
    grow = {"blocks.1.attn": lambda s: min(8.0 * 1.05 ** max(s - 100, 0), 1e6),
            "blocks.0.attn": lambda s: 8.0}
    act = {k: {"attn_logit_max": v, "attn_entropy": 0.5} for k, v in grow.items()}

    def loss(s: int) -> float:
        return math.nan if nan_from is not None and s >= nan_from else 1.0 + 2 * 0.99 ** s
    return run.steps(range(steps), act=act, loss=loss)


def _output(t: Path, name: str, steps: int) -> SyntheticRun:
    run = SyntheticRun(t, name).layer("fc", "Linear", (32, 32)).layer("head", "Linear", (64, 32))
    return run.steps(range(steps), act={"head": {"logit_lse": lambda s: 4.2 + 0.2 * max(s - 100,
                                                                                          0)}},
                     loss=lambda s: 2.0 + 2.0 * 0.98 ** s)


def _updates(t: Path, name: str, steps: int) -> SyntheticRun:
    def spec(at: int):  # type: ignore[no-untyped-def]
        return lambda s: 1e-3 * (1 + 0.05 * math.sin(s)) * (30.0 if at <= s < at + 2 else 1.0)
    return SyntheticRun(t, name).mlp([8, 16, 16, 1]).steps(
        range(steps), update_norm={"2.weight": spec(110), "0.weight": spec(114)},
        loss=lambda s: 1.0 + (3.0 if s >= 125 else 0.0))


CASES = [(attn, _attention), (output, _output), (update, _updates)]


@pytest.mark.parametrize("detector, build", CASES, ids=lambda x: getattr(x, "KIND", ""))
def test_the_step_reported_is_the_step_a_live_run_is_warned_at(tmp_path, detector, build):
    (full,) = [f for f in detector.detect(build(tmp_path, "full", 300).open())
               if f.severity == Severity.WARNING]
    step = full.step
    (cut,) = [f for f in detector.detect(build(tmp_path, "cut", step + 1).open())
              if f.severity == Severity.WARNING]
    assert cut.step == step and cut.where[0] == full.where[0]
    before = [f for f in detector.detect(build(tmp_path, "before", step).open())
              if f.severity == Severity.WARNING]
    assert before == []


def test_a_runaway_attention_is_the_root_cause_of_the_nan_it_ends_in(tmp_path):
    findings = diagnose(_attention(tmp_path, "nan", 300, nan_from=260).open())
    kinds = [f.kind for f in findings]
    assert kinds[0] == "attention_logit_growth"
    nonfinite = findings[kinds.index("nonfinite")]
    assert nonfinite.evidence.get("caused_by") == "attention_logit_growth"
    growth = findings[0]
    assert growth.where == ["blocks.1.attn"] and growth.step < 260
    assert growth.evidence["steps_before_loss"] == 260 - growth.step
    assert "qk-layernorm" in growth.fixes[0]


def test_the_fixes_are_worded_in_the_run_s_framework(tmp_path):
    (finding,) = [f for f in diagnose(_output(tmp_path, "z", 300).open())
                  if f.kind == "output_logit_divergence"]
    assert "torch.logsumexp(logits, dim=-1).pow(2).mean()" in finding.fixes[0]
    assert any("LinearLR" in fix for fix in finding.fixes)  # the warm-up


def test_grown_normalization_gains_are_named_and_decayed(tmp_path):
    """The gains of the block's LayerNorm grew 3x (weight norm against its init): the finding
    says so, and advises weight decay on them."""
    run = _attention(tmp_path, "gains", 300)
    run.steps([299], extra={"weight_norm_init": {"blocks.1.ln_1.weight": 1.0}},
              weight_norm={"blocks.1.ln_1.weight": 3.0}, loss=None)
    (finding,) = attn.detect(run.open())
    assert finding.evidence["norm_gain_growth"] == {"blocks.1.ln_1.weight": 3.0}
    decay = [f for f in finding.advice if f.action == "norm_weight_decay"]
    assert decay and decay[0].args["layers"] == ["blocks.1.ln_1.weight"]
