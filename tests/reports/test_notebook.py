"""Notebook display: a watch, a run and a probe result have a readable ``repr`` and a
``_repr_html_`` (finding cards and the gradient-flow heat map) that renders in a real headless
Chromium as a notebook output cell would show it, with every name inert."""

from __future__ import annotations

from pathlib import Path


import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from tests.reports.browser import Browser, Page  # noqa: E402

EVIL = '<img src=x onerror="alert(1)">'


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    model.add_module(EVIL, nn.Linear(6, 6))  # never called: a no_gradient finding, named evil
    return model


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("nb") / "run"
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    watch = gradsight.watch(model, optimizer, out=folder)
    x = torch.randn(64, 6)
    for _ in range(30):
        loss = nn.functional.mse_loss(model[2](model[1](model[0](x))), x[:, :1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    live = {"repr": repr(watch), "html": watch._repr_html_()}
    watch.close()
    run = gradsight.load_run(folder)
    probe = gradsight.probe(nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)),
                            torch.randn(4, 8))
    return {"watch": watch, "live": live, "run": run, "probe": probe}


def test_reprs_read_as_text(outputs: dict[str, object]) -> None:
    live = outputs["live"]["repr"]  # type: ignore[index]
    assert live.startswith("Watch(torch, watching, 30 steps, ")
    closed = repr(outputs["watch"])
    assert closed.startswith("Watch(torch, closed, 30 steps") and "warning no_gradient" in closed
    run = repr(outputs["run"])
    assert run.startswith("Run(torch, 30 steps, run finished, ")
    assert f"warning no_gradient at {EVIL}.weight, {EVIL}.bias (step 0)" in run
    assert repr(outputs["probe"]).startswith("ProbeResult(torch, 3 layers, loss ")


def test_html_holds_cards_and_heat_map(outputs: dict[str, object]) -> None:
    run = outputs["run"]
    html = run._repr_html_()  # type: ignore[attr-defined]
    assert html.count('class="gs-card"') == len(run.findings) == 1  # type: ignore[attr-defined]
    assert EVIL not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert html.count("<rect ") == 6 * 30  # 6 parameters x 30 steps (the evil two included)
    assert outputs["watch"]._repr_html_() == html.replace(  # type: ignore[attr-defined]
        "<b>gradsight ·", "<b>gradsight watch (closed) ·", 1)
    assert "gradsight watch (watching)" in outputs["live"]["html"]  # type: ignore[index]
    probe = outputs["probe"]._repr_html_()  # type: ignore[attr-defined]
    assert probe.count("<tr") == 1 + 3


def test_renders_in_chromium(outputs: dict[str, object], browser: Browser,
                             tmp_path: Path) -> None:
    cells = "".join(f'<div class="output_html">{outputs[k]._repr_html_()}</div>'  # type: ignore
                    for k in ("watch", "run", "probe"))
    page_file = tmp_path / "notebook.html"
    page_file.write_text("<!doctype html><html><head><meta charset='utf-8'></head>"
                         f"<body data-gs-ready='1'>{cells}</body></html>", encoding="utf-8")
    page = Page(browser, width=1000, height=900)
    page.send("Page.addScriptToEvaluateOnNewDocument",
              {"source": "window.__alerts = 0; window.alert = function () { window.__alerts++; };"})
    try:
        page.load(page_file.resolve().as_uri())
        assert page.errors() == []
        assert page.evaluate("window.__alerts") == 0
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("document.querySelectorAll('.gs-card').length") == 2 + len(
            outputs["probe"].findings)  # type: ignore[attr-defined]
        box = page.evaluate("(() => { const r = document.querySelector('svg.gs-flow')"
                            ".getBoundingClientRect(); return [r.width, r.height]; })()")
        assert box[0] > 300 and box[1] > 5 * 12
        label = page.evaluate("document.querySelector('svg.gs-flow text').textContent")
        assert label == "0.weight"  # first layer at the top, as text
        assert len(page.screenshot()) > 10_000
    finally:
        page.close()
