"""``watch_incomplete`` (info): part of the watching stopped, so some findings may be missing.

Not a problem of the training: gradsight's own hooks are guarded (``adapters.patching.Guard``),
and an exception inside one turns that part of the watching off and is recorded as an
``adapter_error`` event; rows the Keras ring could not hold between two reads are a
``rows_lost`` event. The diagnosis says what was lost and from which step, so a clean bill of
health is never mistaken for a complete one.
"""

from __future__ import annotations

from ..core.finding import Finding, Severity
from ..core.run_view import RunView
from ..core.scenarios import Scenario

KIND = "watch_incomplete"
PRIORITY = 95


def detect(run: RunView) -> list[Finding]:
    errors = run.events("adapter_error")
    lost = run.events("rows_lost")
    if not errors and not lost:
        return []
    parts = [f"{e['name']} from step {e['step']} ({e.get('error', '')})" for e in errors]
    parts += [f"{e.get('steps')} steps of statistics at step {e['step']}" for e in lost]
    summary = ("gradsight stopped part of its watching, so findings that need it may be "
               "missing: " + "; ".join(parts))
    evidence = {"adapter_errors": [{"part": e["name"], "step": e["step"],
                                    "error": e.get("error")} for e in errors],
                "rows_lost": [{"step": e["step"], "steps": e.get("steps")} for e in lost]}
    # what the missing numbers were about: every parameter (the contract's where names
    # parameters or modules; which part failed is in the evidence)
    where = [p.name for p in run.entities("param")] or ["loss"]
    return [Finding(KIND, Severity.INFO, where,
                    min(e["step"] for e in errors + lost), summary, evidence,
                    ["the training itself was not affected; please report the error with "
                     "this run folder"])]


STEPS = range(0, 100, 5)
SCENARIOS = {
    "positive_a_hook_failed": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS).event(
            40, "adapter_error", "torch: layer outputs", error="RuntimeError: boom"),
        Severity.INFO, first="0.weight"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps(STEPS)),
    "boundary_other_events": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS).event(40, "trigger", "loss"),
        why="a trigger is watching working, not failing"),
}
