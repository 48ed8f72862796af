"""Two-player training: a GAN's discriminator and generator each step on a loss of their own,
and the generator's goes through the discriminator. Its losses are not meant to fall, so the
loss rules leave it alone, and the run's loss is the watched (clock) optimizer's own, not a mean
with the other player's. A single objective stepped by two optimizers, and two models trained
side by side, are no game and keep every loss rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402

LOSS_KINDS = {"loss_not_decreasing", "loss_diverging", "loss_spike"}


def digits() -> torch.Tensor:
    from sklearn.datasets import load_digits

    return torch.tensor(load_digits().images.reshape(-1, 64) / 8.0 - 1.0, dtype=torch.float32)


def _gan(tmp_path: Path, steps: int = 120) -> tuple[list, list[float], list, list]:
    """The DCGAN tutorial's loop (BCE, Adam 2e-4 betas 0.5, D on real then detached fake, then
    G) on 8x8 digits; the discriminator's loss per step, measured here."""
    torch.manual_seed(0)
    x, nz = digits(), 16
    net_g = nn.Sequential(nn.Linear(nz, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh())
    net_d = nn.Sequential(nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1), nn.Sigmoid())
    bce = nn.BCELoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_losses = []
    with gradsight.watch(net_d, opt_d, out=tmp_path / "run") as w:
        for i in range(steps):
            real = x[torch.randint(0, len(x), (64,))]
            net_d.zero_grad()
            err_real = bce(net_d(real).view(-1), torch.ones(64))
            err_real.backward()
            fake = net_g(torch.randn(64, nz))
            err_fake = bce(net_d(fake.detach()).view(-1), torch.zeros(64))
            err_fake.backward()
            opt_d.step()
            d_losses.append((err_real.item() + err_fake.item()) / 2)
            net_g.zero_grad()
            bce(net_d(fake).view(-1), torch.ones(64)).backward()
            opt_g.step()
    view = RunView.open(tmp_path / "run")
    try:
        return w.diagnosis.findings, d_losses, list(view.loss.values), view.events("adversarial")
    finally:
        view.close()


def test_a_gan_is_a_game_its_loss_is_the_discriminators_and_no_loss_rule_fires(tmp_path):
    findings, d_losses, recorded, events = _gan(tmp_path)
    assert len(events) == 1
    np.testing.assert_allclose(recorded, d_losses, rtol=1e-5)  # not a mean with G's loss
    assert not LOSS_KINDS & {f.kind for f in findings}


def _two_optimizers(tmp_path: Path, shared_loss: bool, watched_first: bool = True
                    ) -> tuple[list, list, int]:
    """An encoder and a head with an optimizer each at a rate too small to learn (SGD 1e-6),
    on shuffled labels: one loss stepped by both (``shared_loss``; the watched optimizer
    stepping first or second), or two separate models each on its own loss."""
    torch.manual_seed(0)
    x = digits()
    y = torch.randint(0, 10, (len(x),))
    enc = nn.Sequential(nn.Linear(64, 32), nn.ReLU())
    head = nn.Linear(32, 10)
    other = nn.Linear(64, 10)
    opt_a = torch.optim.SGD(enc.parameters(), lr=1e-6)
    opt_b = torch.optim.SGD(head.parameters() if shared_loss else other.parameters(), lr=1e-6)
    model = nn.Sequential(enc, head)
    with gradsight.watch(model, opt_a, out=tmp_path / "run") as w:
        for i in range(200):
            rows = torch.randint(0, len(x), (64,))
            opt_a.zero_grad()
            opt_b.zero_grad()
            nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
            if not shared_loss:
                opt_a.step()
                nn.functional.cross_entropy(other(x[rows]), y[rows]).backward()
                opt_b.step()
            elif watched_first:
                opt_a.step()
                opt_b.step()
            else:
                opt_b.step()
                opt_a.step()
    view = RunView.open(tmp_path / "run")
    try:
        losses = int(np.isfinite(view.loss.values).sum())
        return w.diagnosis.findings, view.events("adversarial"), losses
    finally:
        view.close()


@pytest.mark.parametrize("shared_loss,watched_first", [(True, True), (True, False),
                                                       (False, True)],
                         ids=["one-loss", "one-loss-watched-second", "side-by-side"])
def test_two_optimizers_without_a_game_keep_the_loss_rules(tmp_path, shared_loss,
                                                          watched_first):
    findings, events, losses = _two_optimizers(tmp_path, shared_loss, watched_first)
    assert events == []
    assert losses == 200  # every step's loss is the run's, whichever optimizer steps first
    assert "loss_not_decreasing" in {f.kind for f in findings}
