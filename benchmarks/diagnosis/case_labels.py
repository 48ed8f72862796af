"""The label of a benchmark case: the module-level ``LABEL = {...}`` literal of a training script,
read with ``ast`` (never imported, never run), checked, and the cases of a folder found.

Two folders use it: ``benchmarks/diagnosis/cases/`` (user-style scripts written here, all
PyTorch) and ``benchmarks/wild/cases/`` (programs written by other people, issue 14). A wild case
is named ``<framework>_<short_name>.py`` (``torch_``, ``keras_``, ``tf1_``) and its label carries
where the program came from as well: ``source``, ``question``, ``changes``, ``pair`` and
``framework`` (see ``benchmarks/wild/README.md``).
"""

from __future__ import annotations

import ast
from pathlib import Path

CATEGORIES = ("positive", "confounder", "healthy")
# The contract's finding kinds (CONTRACT.md): its first table, then the second wave.
FIRST_KINDS = (
    "vanishing_gradient", "exploding_gradient", "nonfinite", "dead_units",
    "saturated_activation", "no_gradient", "not_optimized", "stalled_weights",
    "poor_initialization", "loss_not_decreasing", "loss_diverging",
)
KINDS = FIRST_KINDS + (
    "gradients_not_reset", "loss_spike", "update_spike", "attention_logit_growth",
    "output_logit_divergence", "replicas_diverged",
)
FRAMEWORKS = ("torch", "keras", "tf1")
BASE_KEYS = ("category", "expected", "root_cause", "architecture", "why", "measured")
WILD_KEYS = ("source", "question", "changes", "pair", "framework")


def wild_framework(path: Path | str) -> str | None:
    """The framework a wild case's file name announces (``torch_x.py`` -> ``torch``), or None."""
    stem = Path(path).stem
    return next((fw for fw in FRAMEWORKS if stem.startswith(fw + "_")), None)


def framework_of(label: dict) -> str:
    """The cases written here before issue 14 are all PyTorch and name no framework."""
    return label.get("framework", "torch")


def load_label(path: Path | str) -> dict:
    """The case's ``LABEL`` dict literal, read without running the script, and checked."""
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "LABEL" for t in node.targets):
            label = ast.literal_eval(node.value)
            validate_label(label, path)
            return label
    raise ValueError(f"{path}: no module-level LABEL = {{...}}; every case starts with one "
                     "(see benchmarks/diagnosis/score.py's docstring)")


def validate_label(label: dict, path: Path | str = "?") -> None:
    """Raise ValueError naming the case and what its label lacks or contradicts."""
    def bad(msg: str) -> None:
        raise ValueError(f"{path}: LABEL {msg}")

    for key in BASE_KEYS:
        if key not in label:
            bad(f"lacks {key!r}")
    if label["category"] not in CATEGORIES:
        bad(f"category {label['category']!r} is not one of {CATEGORIES}")
    for item in label["expected"]:
        if item.get("kind") not in KINDS:
            bad(f"expects unknown kind {item.get('kind')!r} (contract kinds: {KINDS})")
        if not isinstance(item.get("where", []), list):
            bad("where must be a list of names")
    for kind in label.get("allowed", []):
        if kind not in KINDS:
            bad(f"allows unknown kind {kind!r}")
    expected_kinds = [e["kind"] for e in label["expected"]]
    if label["category"] != "positive" and expected_kinds:
        bad("of a healthy/confounder case expects findings")
    if label["category"] == "positive" and not expected_kinds:
        bad("of a positive case expects nothing")
    if label["root_cause"] is not None and label["root_cause"] not in expected_kinds:
        bad("root_cause is not among the expected kinds")
    named = wild_framework(path)
    if named is not None or "source" in label:
        _validate_wild(label, named, bad)


def _validate_wild(label: dict, named: str | None, bad) -> None:
    for key in WILD_KEYS:
        if key not in label:
            bad(f"of a wild case lacks {key!r} (wild cases also carry {WILD_KEYS})")
    if label["framework"] not in FRAMEWORKS:
        bad(f"framework {label['framework']!r} is not one of {FRAMEWORKS}")
    if named is not None and label["framework"] != named:
        bad(f"framework {label['framework']!r} differs from the file name's {named!r}")
    if not str(label["source"]).startswith(("http://", "https://")):
        bad(f"source {label['source']!r} is not a URL")
    if not isinstance(label["changes"], list) or not all(isinstance(c, str)
                                                          for c in label["changes"]):
        bad("changes must be a list of sentences")
    if label["pair"] is not None and not isinstance(label["pair"], str):
        bad("pair must be the file stem of the buggy/fixed counterpart, or None")


def discover(cases_dir: Path, pattern: str | None = None, fast: bool = False) -> list[Path]:
    """The case scripts of a folder (``_helpers.py`` are not cases), optionally filtered."""
    paths = sorted(p for p in Path(cases_dir).glob("*.py") if not p.name.startswith("_"))
    if pattern:
        paths = [p for p in paths if pattern in p.stem]
    if fast:
        paths = [p for p in paths if load_label(p).get("fast")]
    return paths
