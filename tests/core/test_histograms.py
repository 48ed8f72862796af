"""Histograms in the store: recorded by the torch adapter on sampled steps, read back by the
view, and absent (not an error) in stores written before the table existed."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from gradsight.core.metrics import HIST_BINS
from gradsight.core.recorder import Recorder
from gradsight.core.schedule import HIST_EVERY, Schedule
from gradsight.core.run_view import RunView
from gradsight.core.store import RunStore


def test_schedule_samples_one_recorded_step_in_hist_every():
    default = Schedule()
    recorded = [s for s in range(5000) if default.detail(s)]
    sampled = [s for s in recorded if default.histogram(s)]
    assert sampled[:3] == [0, HIST_EVERY, 100]
    assert len(sampled) == -(-len(recorded) // HIST_EVERY)
    every = Schedule(every=3)  # at least HIST_MIN_GAP apart, on recorded steps
    assert [s for s in range(160) if every.histogram(s)] == [0, 51, 102, 153]
    assert [s for s in range(200) if Schedule(every=1).histogram(s)] == [0, 50, 100, 150]
    assert [s for s in range(2000) if Schedule(every=20).histogram(s)] == [
        0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500,
        1600, 1700, 1800, 1900]


def test_recorded_histograms_are_read_back(tmp_path):
    store = RunStore.create(tmp_path / "run")
    recorder = Recorder(store)
    counts = list(range(HIST_BINS))
    recorder.histograms(0, "param", "weight", ["<w>"], np.array([[-1.0, 2.0, *counts]]))
    recorder.record(0, "param", ["<w>"], ["grad_norm"], [[0.5]])
    recorder.close()
    store.close()
    view = RunView.open(tmp_path / "run")
    hist = view.histograms("param", "weight")["<w>"]
    assert hist.steps.tolist() == [0]
    assert (hist.lo[0], hist.hi[0]) == (-1.0, 2.0)
    assert hist.counts[0].tolist() == counts
    assert view.metric("param", "grad_norm")["<w>"].values.tolist() == [0.5]
    assert view.histograms("param", "grad") == {}
    view.close()


def test_store_without_hists_table_reads_as_no_histograms(tmp_path):
    store = RunStore.create(tmp_path / "run")
    store.add_stats([(0, "param", "w", "grad_norm", 1.0)])
    store.close()
    con = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    con.execute("DROP TABLE hists")  # what a store from before histograms looks like
    con.commit()
    con.close()
    view = RunView.open(tmp_path / "run")
    assert view.histograms("param", "weight") == {}
    assert view.metric("param", "grad_norm")["w"].values.tolist() == [1.0]
    view.close()


def test_torch_histogram_matches_numpy_and_skips_nonfinite():
    torch = pytest.importorskip("torch")
    from gradsight.adapters.torch.stats import histogram

    x = torch.randn(1000, dtype=torch.float32)
    x[3] = float("nan")
    x[7] = float("inf")
    out = histogram(x).tolist()
    finite = x[torch.isfinite(x)].numpy()
    assert out[0] == pytest.approx(float(finite.min()))
    assert out[1] == pytest.approx(float(finite.max()))
    expected, _ = np.histogram(finite, bins=HIST_BINS, range=(finite.min(), finite.max()))
    got = np.array(out[2:])
    assert got.sum() == 998
    assert np.abs(got - expected).max() <= 1  # float rounding at bin edges only
    constant = histogram(torch.full((10,), 3.0)).tolist()
    assert constant[:2] == [3.0, 3.0] and sum(constant[2:]) == 10


def test_torch_run_stores_weight_grad_and_activation_histograms(tmp_path):
    torch = pytest.importorskip("torch")
    import gradsight

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradsight.watch(model, opt, out=tmp_path / "run", every=1):
        for _ in range(101):
            loss = model(torch.randn(16, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    view = RunView.open(tmp_path / "run")
    weights = view.histograms("param", "weight")
    grads = view.histograms("param", "grad")
    acts = view.histograms("module", "act")
    assert set(weights) == set(grads) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert weights["0.weight"].steps.tolist() == [0, 50, 100]
    assert weights["0.weight"].counts.sum(axis=1).tolist() == [32, 32, 32]
    assert "1" in acts and acts["1"].counts[0].sum() == 16 * 8
    assert -1 <= acts["1"].lo[0] <= acts["1"].hi[0] <= 1  # tanh outputs
    view.close()


def test_keep_spreads_steps_first_and_last_included(tmp_path):
    store = RunStore.create(tmp_path / "run")
    store.add_hists([(s, "param", "w", "grad", 0.0, 1.0, [s, 1]) for s in range(0, 100, 5)])
    store.close()
    view = RunView.open(tmp_path / "run")
    hist = view.histograms("param", "grad", keep=4)["w"]
    assert hist.steps.tolist() == [0, 30, 65, 95]
    assert hist.counts[:, 0].tolist() == [0, 30, 65, 95]
    assert len(view.histograms("param", "grad")["w"]) == 20
    view.close()
