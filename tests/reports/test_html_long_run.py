"""A long, wide run (100k steps x 500 parameters) makes a report that stays small and opens
in a browser in seconds: the builder downsamples, the page does not."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from gradsight.core.metrics import HIST_BINS
from gradsight.core.store import DB_NAME, RunStore
from gradsight.reports.columns import MAX_COLUMNS, MAX_LOSS_POINTS
from gradsight.reports.html import write_report
from tests.reports.browser import Browser, Page, chromium_path

STEPS = 100_000
LAYERS = 250  # 500 parameters (weight, bias), 500 modules (Linear, ReLU)
EVERY = 250  # 400 recorded steps: the report's size does not depend on more
MAX_BYTES = 5_000_000


def _long_run(folder):
    """Written straight into SQLite (the store's own schema): a real run this long would
    take hours, and only the store's contents matter to the report."""
    RunStore.create(folder).close()
    rng = np.random.default_rng(0)
    params = [f"layers.{i}.{k}" for i in range(LAYERS) for k in ("weight", "bias")]
    modules = [f"{k}.{i}" for i in range(LAYERS) for k in ("layers", "acts")]
    entities = [("module", m, i, json.dumps({"type": "ReLU" if m.startswith("acts") else
                                              "Linear", "activation": "relu" if
                                              m.startswith("acts") else None}))
                for i, m in enumerate(modules)]
    entities += [("param", p, i, json.dumps({"shape": [64, 64] if p.endswith("weight") else [64],
                                              "module": p.rsplit(".", 1)[0],
                                              "module_type": "Linear", "optimized": True}))
                 for i, p in enumerate(params)]
    scale = np.logspace(-6, 0, len(params))  # gradients vanish towards the first layers
    stats, hists = [], []
    for step in range(0, STEPS, EVERY):
        grads = scale * rng.lognormal(0, 0.3, len(params))
        stats += [(step, "param", p, "grad_norm", g) for p, g in zip(params, grads.tolist())]
        stats += [(step, "param", p, "weight_norm", 1.0) for p in params]
        stats += [(step, "param", p, "update_norm", g * 1e-3)
                  for p, g in zip(params, grads.tolist())]
        acts = rng.random(len(modules)).tolist()
        stats += [(step, "module", m, "act_std", a) for m, a in zip(modules, acts)]
        stats += [(step, "module", m, "dead_frac", a / 4)
                  for m, a in zip(modules, acts) if m.startswith("acts")]
        if step % (5 * EVERY) == 0:
            counts = json.dumps(rng.integers(0, 100, HIST_BINS).tolist())
            hists += [(step, "param", p, k, -1.0, 1.0, counts)
                      for p in params for k in ("weight", "grad")]
            hists += [(step, "module", m, "act", 0.0, 2.0, counts) for m in modules]
    con = sqlite3.connect(folder / DB_NAME)
    with con:
        con.executemany("INSERT INTO entities VALUES (?, ?, ?, ?)", entities)
        con.executemany("INSERT INTO stats VALUES (?, ?, ?, ?, ?)", stats)
        con.executemany("INSERT INTO hists VALUES (?, ?, ?, ?, ?, ?, ?)", hists)
        con.executemany("INSERT INTO loss VALUES (?, ?)",
                        [(s, 2.0 - s / STEPS + 0.1 * rng.random()) for s in range(STEPS)])
        con.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("framework", '"torch"'), ("script", '"long.py"'), ("status", '"finished"'),
            ("steps", str(STEPS))])
    con.close()
    return params


@pytest.mark.slow
def test_long_wide_run_report_is_small_and_opens_in_seconds(tmp_path):
    chromium_path()
    folder = tmp_path / "run"
    params = _long_run(folder)
    path = write_report(folder)
    assert path.stat().st_size < MAX_BYTES
    browser = Browser(tmp_path / "profile")
    try:
        page = Page(browser)
        url = path.resolve().as_uri()
        seconds = page.load(url, timeout=60)
        cells = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-flow'))"
                              ".getOption().series[0].data.length")
        columns = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-flow'))"
                                ".getOption().xAxis[0].data.length")
        loss = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-loss'))"
                             ".getOption().series[0].data.length")
        assert page.errors() == [] and set(page.requests()) == {url}
        page.close()
    finally:
        browser.close()
    assert 40 <= columns <= MAX_COLUMNS and cells == len(params) * columns
    assert 100 <= loss <= MAX_LOSS_POINTS
    # "a few seconds" on a quiet machine (~2 s); generous here for a loaded 2-core CI box
    assert seconds < 20, f"the page took {seconds:.1f}s to draw"
