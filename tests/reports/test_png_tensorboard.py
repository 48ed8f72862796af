"""``gradsight report DIR --png FILE`` and ``--tensorboard LOGDIR``, on a real run."""

from __future__ import annotations

import numpy as np
import pytest

from gradsight.reports.png import WIDTH_PX, png_height
from tests.conftest import run_gradsight

PIL = pytest.importorskip("PIL.Image")


def test_report_regenerates_html_and_writes_the_flow_png(seed_run_tb, tmp_path):
    run, _ = seed_run_tb
    html = run / "report.html"
    assert html.stat().st_size > 100_000  # written by the run itself
    html.unlink()
    png = tmp_path / "flow.png"
    proc = run_gradsight("report", str(run), "--png", str(png))
    assert proc.returncode == 0, proc.stderr
    assert html.exists() and "vanishing_gradient" in html.read_text()
    assert f"report: {html}" in proc.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = PIL.open(png)
    image.verify()
    image = PIL.open(png).convert("L")
    assert image.size == (WIDTH_PX, png_height(6))
    # the heat map's axes span 0.2-0.88 of the width and 0.1-0.9 of the height, six rows:
    # the first row (0.weight) is darker than the fifth (4.weight)
    width, height = image.size
    xs = range(int(0.22 * width), int(0.86 * width), 20)

    def row(i: int) -> float:
        y = int(height * (0.1 + 0.8 * (i + 0.5) / 6))
        return sum(image.getpixel((x, y)) for x in xs) / len(xs)

    assert row(0) + 60 < row(4)


def test_png_of_a_missing_run_is_an_error(tmp_path):
    proc = run_gradsight("report", str(tmp_path / "nothing"), "--png", str(tmp_path / "x.png"))
    assert proc.returncode == 2
    assert not (tmp_path / "x.png").exists()


def test_tensorboard_logs_read_back_with_tensorboards_reader(seed_run_tb):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    _, logdir = seed_run_tb
    acc = event_accumulator.EventAccumulator(
        str(logdir), size_guidance={event_accumulator.SCALARS: 0,
                                    event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    tags = acc.Tags()
    scalars, histograms = set(tags["scalars"]), set(tags["histograms"])
    for name in ("0.weight", "0.bias", "2.weight", "4.weight"):
        assert f"gradsight/grad_norm/{name}" in scalars
        assert f"gradsight/grad_to_weight/{name}" in scalars
        assert f"gradsight/update_to_weight/{name}" in scalars
        assert f"gradsight/weights/{name}" in histograms
        assert f"gradsight/grads/{name}" in histograms
    assert "gradsight/dead_frac/3" in scalars  # the second ReLU
    assert "gradsight/activations/1" in histograms
    loss = acc.Scalars("gradsight/loss")
    assert [e.step for e in loss] == list(range(300))
    first = acc.Scalars("gradsight/grad_to_weight/0.weight")
    last = acc.Scalars("gradsight/grad_to_weight/4.weight")
    assert len(first) == 300  # every step, the always-on tier
    median = lambda events: float(np.median([e.value for e in events]))  # noqa: E731
    assert median(first) < median(last) / 10  # vanishing
    hist = acc.Histograms("gradsight/weights/0.weight")
    assert hist[0].step == 0 and hist[0].histogram_value.num == 16


def test_watch_api_writes_the_report_and_tensorboard_logs(tmp_path):
    torch = pytest.importorskip("torch")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    import gradsight

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with gradsight.watch(model, opt, out=tmp_path / "run", tensorboard=tmp_path / "tb") as w:
        for _ in range(20):
            loss = model(torch.randn(8, 3)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert (w.folder / "report.html").stat().st_size > 100_000
    acc = event_accumulator.EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert "gradsight/saturated_frac/1" in acc.Tags()["scalars"]
    assert "gradsight/grads/2.weight" in acc.Tags()["histograms"]
