"""`import gradsight` must stay light: no framework, no numpy until something is used."""

import subprocess
import sys


def test_import_loads_no_framework() -> None:
    code = (
        "import sys, gradsight; "
        "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'jax', 'numpy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve_lazily() -> None:
    code = (
        "import gradsight; "
        "print(callable(gradsight.watch), callable(gradsight.run_script), "
        "callable(gradsight.load_run), gradsight.Severity.ERROR.value)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "error"]
