"""The store as data: ``Run.frame`` (pandas) against the run view it reads, and the documented
SQL tables readable with ``pandas.read_sql`` as the docs show."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
torch = pytest.importorskip("torch")

import gradsight  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pd") / "run"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(32, 4)
    with gradsight.watch(model, optimizer, out=out):
        for _ in range(25):
            loss = (model(x) - x[:, :1]).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return out


def test_frames_equal_the_run_view(folder: Path) -> None:
    run = gradsight.load_run(folder)
    grads = run.frame("grad_norm")
    view = RunView.open(folder)
    try:
        expected = view.metric("param", "grad_norm")
        assert list(grads.columns) == list(expected) == ["0.weight", "0.bias", "2.weight",
                                                         "2.bias"]
        for name, series in expected.items():
            np.testing.assert_array_equal(grads[name].dropna().to_numpy(), series.values)
            assert list(grads[name].dropna().index) == list(series.steps)
        loss = run.frame("loss")
        np.testing.assert_array_equal(loss["loss"].to_numpy(), view.loss.values)
        assert len(loss) == 25 and loss.index.name == "step"
        saturated = run.frame("act_saturated_frac", role="module")
        expected_sat = view.metric("module", "act_saturated_frac")
        assert list(saturated.columns) == list(expected_sat) and "1" in expected_sat  # the Tanh
        np.testing.assert_array_equal(saturated["1"].dropna().to_numpy(),
                                      expected_sat["1"].values)
    finally:
        view.close()


def test_documented_tables_read_with_pandas(folder: Path) -> None:
    con = sqlite3.connect(folder / "run.sqlite")
    try:
        entities = pd.read_sql("SELECT role, name, ord, info FROM entities", con)
        assert set(entities["role"]) == {"param", "module"}
        loss = pd.read_sql("SELECT step, value FROM loss ORDER BY step", con)
        assert list(loss["step"]) == list(range(25))
        detail = pd.read_sql("SELECT step, role, layout FROM detail", con)
        assert set(detail["role"]) == {"param", "module"} and detail["step"].min() == 0
        meta = pd.read_sql("SELECT key, value FROM meta", con)
        assert "schema_version" in set(meta["key"])
    finally:
        con.close()
