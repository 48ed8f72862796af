"""Terminal output against golden files, at a fixed width: ``run``'s diagnosis, the probe's
table and findings, and ``fix``'s table. Regenerate after a deliberate change of the output
with ``GRADSIGHT_UPDATE_GOLDEN=1 pytest tests/reports/test_golden.py`` and read the diff."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from gradsight.core.diagnosis import Diagnosis
from gradsight.core.detect import diagnose
from gradsight.core.summary import key_numbers
from gradsight.core.synthetic import SyntheticRun

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = bool(os.environ.get("GRADSIGHT_UPDATE_GOLDEN"))


def _console(width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, color_system=None, force_terminal=False,
                   legacy_windows=False, emoji=False), buffer


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        if not UPDATE and os.environ.get("CI"):
            pytest.fail(f"golden file {path} is missing; regenerate with GRADSIGHT_UPDATE_GOLDEN=1")
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from its golden file (see its docstring)"


def _vanishing_run(tmp_path: Path) -> Diagnosis:
    run = (SyntheticRun(tmp_path).mlp([4, 16, 16, 1])
           .steps(range(0, 100, 5), grad_to_weight={"0.weight": 1e-5, "0.bias": 1e-5},
                  update_to_weight={"0.weight": 1e-8, "0.bias": 1e-8}).open())
    return Diagnosis(diagnose(run), "torch", 100, Path("runs/example"), "finished",
                     key_numbers(run))


@pytest.mark.parametrize("width", [80, 120])
def test_run_diagnosis(tmp_path: Path, width: int) -> None:
    """Terse: the root cause as a card (summary, where, first fix), its symptom in two lines."""
    from gradsight.reports.terminal import render

    console, buffer = _console(width)
    render(_vanishing_run(tmp_path), console)
    text = buffer.getvalue()
    assert "threshold" not in text and "steps_judged" not in text  # no internal settings
    assert len(text.splitlines()) <= 16
    _check(f"run_vanishing_{width}.txt", text)


def test_run_diagnosis_verbose(tmp_path: Path) -> None:
    """--verbose keeps every evidence item and every fix."""
    from gradsight.reports.terminal import render

    diagnosis = _vanishing_run(tmp_path)
    console, buffer = _console(80)
    render(diagnosis, console, verbose=True)
    text = buffer.getvalue()
    for finding in diagnosis.findings:
        for key in finding.evidence:
            assert f"  {key}: " in text
        assert f"fix {len(finding.fixes)}: " in text
    _check("run_vanishing_verbose_80.txt", text)


@pytest.mark.parametrize("width", [80, 120])
def test_probe_output(width: int) -> None:
    torch = pytest.importorskip("torch")
    import gradsight
    from gradsight.reports.probe import render_probe

    torch.manual_seed(0)
    layers = []
    for _ in range(4):
        layer = torch.nn.Linear(32, 32)
        torch.nn.init.normal_(layer.weight, 0.0, 1.0)
        layers += [layer, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(32, 2))
    result = gradsight.probe(model, torch.randn(16, 32, generator=torch.Generator().manual_seed(1)))
    console, buffer = _console(width)
    render_probe(result, console)
    text = buffer.getvalue()
    table = text.split("╭")[0].splitlines()[1:]
    assert len(table) == 2 + len(result.layers)  # a two-line header, one line per layer:
    assert all(len(line) <= width for line in text.splitlines())  # no cell wraps
    _check(f"probe_saturated_{width}.txt", text)


@pytest.mark.parametrize("width", [80, 120])
def test_fix_table(width: int) -> None:
    from gradsight.fix.cli import _render
    from gradsight.fix.trials import Trial

    finding = {"kind": "vanishing_gradient", "severity": "error"}
    stall = {"kind": "stalled_weights", "severity": "warning"}
    baseline = Trial("none", [finding, stall], 0.259, 10.0, 300,
                     model={"activations": {"0": "relu"}})
    trials = [Trial("init:he", [], 0.0037, 11.2, 300), Trial("lr:x10", [finding], 0.21, 10.4, 300),
              Trial("optimizer:adam", [stall], 0.05, 12.0, 300)]
    console, buffer = _console(width)
    _render(console, {"baseline": baseline, "trials": trials, "note": None}, 300)
    _check(f"fix_table_{width}.txt", buffer.getvalue())
