"""An LSTM forecaster fed windows of 8 values as one time step of 8 features (the layout many
time-series tutorials use): its recurrent weights multiply the zero initial state at the only
step, so their gradient is exactly 0 at every step while the rest of the model learns.
gradsight says ``no_gradient`` there, with the time axis to check, not ``stalled_weights`` and a
learning rate 10,000x higher; the same model given 8 steps of 1 feature gets no such finding.
Real training; the gradients are read in plain torch beside it."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import gradsight  # noqa: E402


class Forecaster(torch.nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(features, 32, batch_first=True)
        self.head = torch.nn.Linear(32, 1)

    def forward(self, x):  # type: ignore[no-untyped-def]
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def _train(tmp_path, steps_per_window: int):  # type: ignore[no-untyped-def]
    """(findings, the largest |grad| of weight_hh_l0 over the run, its loss start and end)."""
    torch.manual_seed(0)
    t = torch.arange(0, 600, dtype=torch.float32)
    series = torch.sin(t / 9) + 0.1 * torch.randn(600)
    windows = torch.stack([series[i:i + 9] for i in range(580)])
    x, y = windows[:, :8], windows[:, 8:]
    x = x.reshape(-1, steps_per_window, 8 // steps_per_window)
    model = Forecaster(8 // steps_per_window)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    largest, losses = 0.0, []
    with gradsight.watch(model, opt, out=tmp_path / f"run{steps_per_window}") as w:
        for step in range(80):
            rows = slice(64 * (step % 9), 64 * (step % 9 + 1))
            loss = torch.nn.functional.mse_loss(model(x[rows]), y[rows])
            opt.zero_grad()
            loss.backward()
            largest = max(largest, float(model.lstm.weight_hh_l0.grad.abs().max()))
            opt.step()
            losses.append(loss.item())
    return w.diagnosis.findings, largest, losses


def test_one_step_sequences_leave_the_recurrent_weights_without_gradient(tmp_path) -> None:
    findings, largest, losses = _train(tmp_path, 1)
    assert largest == 0.0 and min(losses[-10:]) < 0.5 * losses[0]  # the case, measured
    (finding,) = [f for f in findings if f.kind == "no_gradient"]
    assert finding.where == ["lstm.weight_hh_l0"]
    assert finding.evidence["recurrent"] is True
    assert finding.advice[0].action == "sequence_steps"
    assert "stalled_weights" not in [f.kind for f in findings]


def test_eight_step_sequences_train_the_recurrent_weights(tmp_path) -> None:
    findings, largest, _ = _train(tmp_path, 8)
    assert largest > 0.0
    assert "no_gradient" not in [f.kind for f in findings]
