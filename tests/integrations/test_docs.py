"""The documentation cannot rot: the site builds in mkdocs' strict mode (a broken link or
anchor fails), every finding kind gradsight can report is documented, the README's first
screen tells a new user what gradsight does and how to try it, and it points at nothing
outside the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradsight.core.detect import detectors
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def test_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": shutil.os.environ.get("PATH", "")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in ("index", "contract", "store", "python-api", "integrations"):
        target = tmp_path / "site" / ("index.html" if page == "index" else f"{page}/index.html")
        assert target.is_file(), page


def test_every_finding_kind_is_documented() -> None:
    contract = (DOCS / "contract.md").read_text()
    findings = (DOCS / "findings.md").read_text()
    for info in detectors():
        assert f"`{info.kind}`" in contract + findings, info.kind
        assert f"`{info.kind}`" in README, info.kind


def test_readme_first_screen_is_for_users() -> None:
    first = "\n".join(README.splitlines()[:40])
    assert "pip install" in first and "gradsight run train.py" in first
    assert "why isn't my network learning" in first.lower()
    assert "make demo" not in first  # developer commands come later, but they are there:
    assert "make demo" in README and "make test" in README


def test_docs_and_readme_point_inside_the_repository() -> None:
    texts = {"README.md": README, **{p.name: p.read_text() for p in DOCS.glob("*.md")}}
    for name, text in texts.items():
        assert "../shared" not in text and "CONTRACT.md" not in text, name
        assert not re.search(r"\bissue[- ]\d|branch `", text), name
        assert "in progress" not in text, name
    for target in re.findall(r"\]\(([^)#]+)[^)]*\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
