"""report.html in a real headless Chromium, from reports of real training runs.

What is checked is what a person opening the file would meet: it loads from ``file://`` with
no console error and no network request, the charts are there and hold data, the screenshot
shows the vanishing gradient (first layers dark) beside the finding that explains it, and a
module named like an HTML tag shows as text.
"""

from __future__ import annotations

import io
import json
from pathlib import Path


import pytest

from tests.conftest import EXAMPLES, read_json, run_gradsight
from tests.reports.browser import Browser, Page

PIL = pytest.importorskip("PIL.Image")

EVIL = "<img src=x onerror=alert(1)>"
EVIL_2 = "</script><script>alert(2)</script>"

CHART_DATA = """JSON.stringify(Array.from(document.querySelectorAll('.chart')).map(function (el) {
  var c = echarts.getInstanceByDom(el), n = 0;
  if (!c) return [el.id, -1];
  (c.getOption().series || []).forEach(function (s) { n += (s.data || []).length; });
  return [el.id, n];
}))"""


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed 000/001, the 3-layer identity net: vanishing gradients from the start."""
    out = tmp_path_factory.mktemp("seed") / "run"
    proc = run_gradsight("run", "--out", str(out), str(EXAMPLES / "seed_000_001_identity.py"),
                         "3", "--steps", "300")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Module names that are HTML, in a net whose findings name them."""
    folder = tmp_path_factory.mktemp("evil")
    script = folder / "train.py"
    script.write_text(f"""
from collections import OrderedDict
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(OrderedDict([
    ({EVIL!r}, torch.nn.Linear(4, 16)),
    ({EVIL_2!r}, torch.nn.Tanh()),
    ("mid", torch.nn.Linear(16, 16)),
    ("act", torch.nn.Tanh()),
    ("out", torch.nn.Linear(16, 1)),
]))
for m in model:
    if isinstance(m, torch.nn.Linear):
        torch.nn.init.normal_(m.weight, 0.0, 1e-3)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
for _ in range(200):
    x = torch.randn(8, 4)
    loss = (model(x) - x[:, :1]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
""")
    out = folder / "run"
    proc = run_gradsight("run", "--out", str(out), str(script))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _open(browser: Browser, folder: Path, height: int = 1000) -> tuple[Page, str, float]:
    page = Page(browser, height=height)
    url = (folder / "report.html").resolve().as_uri()
    seconds = page.load(url)
    return page, url, seconds


def _assert_clean(page: Page, url: str) -> None:
    assert page.errors() == []
    assert page.evaluate("document.body.dataset.gsErrors") == "0"
    assert set(page.requests()) == {url}, "the report fetched something besides itself"


def test_seed_report_loads_offline_with_charts_and_no_errors(browser, seed_run):
    page, url, _ = _open(browser, seed_run)
    try:
        charts = dict(json.loads(page.evaluate(CHART_DATA)))
        for chart in ("chart-flow", "chart-updates", "chart-dead", "chart-std", "chart-loss",
                      "chart-dist-a", "chart-hist-a", "chart-dist-b", "chart-hist-b"):
            assert charts[chart] > 0, f"{chart} is empty: {charts}"
        params = 6  # 3 Linear layers, weight and bias
        assert charts["chart-flow"] >= params * 10  # a cell per parameter and recorded step
        # no tanh/sigmoid here: that chart says so in words instead of drawing nothing
        assert charts["chart-saturated"] == -1
        assert "No tanh/sigmoid" in page.evaluate(
            "document.getElementById('chart-saturated').textContent")
        assert int(page.evaluate("document.body.dataset.gsCharts")) >= 5
        _assert_clean(page, url)
    finally:
        page.close()


def test_seed_report_shows_vanishing_gradient_at_a_glance(browser, seed_run, tmp_path):
    """First layers dark in the heat map, in the first screenful, beside the finding."""
    page, url, _ = _open(browser, seed_run, height=1000)
    try:
        shot = PIL.open(io.BytesIO(page.screenshot())).convert("RGB")
        assert shot.size == (1400, 1000)
        (tmp_path / "seed.png").write_bytes(page.screenshot())
        colors = shot.getcolors(maxcolors=1 << 20)
        assert colors is not None and len(colors) > 200, "the screenshot is (nearly) blank"
        # pixel centers of the heat map cells, rows in forward order
        cells = json.loads(page.evaluate("""JSON.stringify((function () {
            var el = document.getElementById('chart-flow'), c = echarts.getInstanceByDom(el);
            var r = el.getBoundingClientRect(), names = c.getOption().yAxis[0].data, out = {};
            var cols = c.getOption().xAxis[0].data.length;
            names.forEach(function (n, i) {
              out[n] = [];
              for (var j = 0; j < cols; j++) {
                var p = c.convertToPixel({seriesIndex: 0}, [j, i]);
                out[n].push([Math.round(r.left + p[0]), Math.round(r.top + p[1])]);
              }
            });
            return out; })())"""))
        assert list(cells)[:3] == ["0.weight", "0.bias", "2.weight"]

        def brightness(name: str) -> float:
            pixels = [shot.getpixel((x, y)) for x, y in cells[name] if 0 <= y < 1000]
            assert pixels, f"row {name} is not in the first screenful"
            return sum(sum(p) for p in pixels) / (3 * len(pixels))

        assert brightness("0.weight") < 60  # near black
        assert brightness("0.weight") + 50 < brightness("4.weight")  # (every step: noisier cells)
        vanishing = page.evaluate("""(function () {
            var cards = document.querySelectorAll('article.card');
            for (var i = 0; i < cards.length; i++)
              if (cards[i].textContent.indexOf('vanishing_gradient') >= 0)
                return cards[i].getBoundingClientRect().top; return -1; })()""")
        assert 0 < vanishing < 1000, "the vanishing_gradient finding is not in the first screen"
        _assert_clean(page, url)
    finally:
        page.close()


def test_finding_links_open_that_layers_charts(browser, seed_run):
    page, url, _ = _open(browser, seed_run)
    try:
        page.evaluate("document.querySelector('a.layer-link[data-layer=\"2.weight\"]').click()")
        assert page.evaluate("document.getElementById('dist-a-title').textContent") == (
            "2.weight · weights over time")
        selected = page.evaluate(
            "(function (s) { return s.options[s.selectedIndex].textContent; })"
            "(document.getElementById('layer-select'))")
        assert selected.startswith("2.weight")
        charts = dict(json.loads(page.evaluate(CHART_DATA)))
        assert charts["chart-dist-b"] > 0 and charts["chart-hist-b"] > 0
        _assert_clean(page, url)
    finally:
        page.close()


def test_html_names_render_as_text(browser, evil_run):
    html = (evil_run / "report.html").read_text()
    assert EVIL not in html and EVIL_2 not in html  # escaped everywhere in the file itself
    findings = read_json(evil_run / "findings.json")["findings"]
    assert any(f"{EVIL}.weight" in f["where"] for f in findings)
    page = Page(browser)
    # an alert() that ran would be recorded here, and would also open a dialog event
    page.send("Page.addScriptToEvaluateOnNewDocument",
              {"source": "window.__alerts = 0; window.alert = function () { window.__alerts++; };"})
    url = (evil_run / "report.html").resolve().as_uri()
    try:
        page.load(url)
        assert page.evaluate("window.__alerts") == 0
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("document.querySelectorAll('script').length") == 4
        links = page.evaluate("JSON.stringify(Array.from(document.querySelectorAll("
                              "'a.layer-link')).map(function (a) { return a.textContent; }))")
        assert f"{EVIL}.weight" in json.loads(links)
        assert EVIL in page.evaluate("document.getElementById('layer-select').textContent")
        assert EVIL in page.evaluate("document.body.innerText")
        page.evaluate(
            f"document.querySelector('a.layer-link[data-layer={json.dumps(EVIL + '.weight')}]')"
            ".click()")
        assert page.evaluate("document.getElementById('dist-a-title').textContent").startswith(
            EVIL)
        charts = dict(json.loads(page.evaluate(CHART_DATA)))
        assert charts["chart-saturated"] > 0  # the tanh modules, whatever their names
        assert not [e for e in page.log if e["method"] == "Page.javascriptDialogOpening"]
        _assert_clean(page, url)
    finally:
        page.close()


def test_report_of_a_run_without_steps_renders_cleanly(browser, tmp_path):
    """Nothing recorded (the script never trained): every section says so, nothing breaks."""
    script = tmp_path / "nothing.py"
    script.write_text("print('no training here')\n")
    out = tmp_path / "run"
    proc = run_gradsight("run", "--out", str(out), str(script))
    assert proc.returncode == 0, proc.stderr
    page, url, _ = _open(browser, out)
    try:
        assert page.evaluate("document.querySelector('.healthy').textContent") == (
            "No training problem found.")
        assert "No gradients were recorded" in page.evaluate(
            "document.getElementById('chart-flow').textContent")
        _assert_clean(page, url)
    finally:
        page.close()



def test_report_of_a_run_that_went_nan_renders_cleanly(browser, tmp_path):
    """The run that most needs a report: non-finite numbers in stats, loss and histograms."""
    script = tmp_path / "nan_train.py"
    script.write_text("""
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for i in range(30):
    loss = model(torch.randn(16, 4)).pow(2).mean() * (float("inf") if i == 5 else 1.0)
    opt.zero_grad()
    loss.backward()
    opt.step()
""")
    out = tmp_path / "run"
    proc = run_gradsight("run", "--out", str(out), "--every", "1", str(script))
    assert proc.returncode == 0, proc.stderr
    assert "gradsight:" not in proc.stderr  # the report was written without a warning
    assert read_json(out / "findings.json")["findings"][0]["kind"] == "nonfinite"
    page, url, _ = _open(browser, out)
    try:
        charts = dict(json.loads(page.evaluate(CHART_DATA)))
        assert charts["chart-flow"] > 0 and charts["chart-loss"] > 0
        assert "nonfinite" in page.evaluate("document.getElementById('diagnosis').textContent")
        _assert_clean(page, url)
    finally:
        page.close()
