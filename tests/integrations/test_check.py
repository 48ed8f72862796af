"""``gradsight.check``: one real step on a copy, one AssertionError naming every parameter
that will not train with its reason; the model, its optimizer and the RNG left as found."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.step_check import INIT_FACTOR, find_problems, standard_std_range  # noqa: E402


class Net(nn.Module):
    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(32, 3))
        self.broken = broken
        self.head = nn.Linear(32, 3)  # called only when broken: then its output is dropped
        self.side = nn.Linear(10, 3)  # broken: detached before the loss
        self.unused = nn.Linear(10, 10)  # never called
        self.frozen = nn.Linear(10, 3)  # broken: left out of the optimizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.broken:
            self.head(torch.relu(self.body[0](x)))  # the result is dropped
            out = out + self.side(x).detach() + self.frozen(x)
        return out


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 10, generator=g), torch.randint(0, 3, (16,), generator=g)


def test_a_healthy_model_passes_and_is_left_as_found() -> None:
    torch.manual_seed(0)
    model = Net()
    for layer in (model.head, model.side, model.unused, model.frozen):
        layer.requires_grad_(False)  # deliberately frozen: not a problem
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    x, y = _batch()
    model(x).sum().backward()  # some state the check must not disturb
    optimizer.step()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    opt_state = optimizer.state_dict()
    rng = torch.get_rng_state()
    model.eval()

    gradsight.check(model, x, lambda out: nn.functional.cross_entropy(out, y), optimizer)

    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(grads[n], p.grad) for n, p in model.named_parameters()
               if p.grad is not None)
    assert optimizer.state_dict()["state"][0]["step"] == opt_state["state"][0]["step"]
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model.training


def test_every_problem_in_one_error_with_its_reason() -> None:
    torch.manual_seed(0)
    model = Net(broken=True)
    nn.init.normal_(model.body[3].weight, 0.0, 5.0)  # 5 x sqrt(32) = 28x the LeCun std
    zero_lr = [model.side.weight]
    rest = [p for n, p in model.named_parameters() if not n.startswith(("frozen", "side.w"))]
    optimizer = torch.optim.SGD([{"params": rest}, {"params": zero_lr, "lr": 0.0}], lr=0.1)
    x, y = _batch()
    with pytest.raises(AssertionError) as error:
        gradsight.check(model, x, lambda out: nn.functional.cross_entropy(out, y), optimizer)
    message = str(error.value)
    expected = {
        "head.weight": "no gradient: its module head ran, but its output does not reach",
        "side.bias": "no gradient: its module side ran, but its output does not reach",
        "unused.weight": "no gradient: its module unused never ran in the forward pass",
        "frozen.weight": "not optimized: requires a gradient but is in no param group",
        "side.weight": "not optimized: its param group's learning rate is 0",
        "body.3.weight": "poor initialization: std",
    }
    for name, reason in expected.items():
        assert f"  {name}: {reason}" in message, message
    problems = find_problems(model, x, lambda out: nn.functional.cross_entropy(out, y),
                             optimizer)
    assert {p.name for p in problems} == {
        "head.weight", "head.bias", "side.weight", "side.bias", "unused.weight",
        "unused.bias", "frozen.weight", "frozen.bias", "body.3.weight"}
    assert message.startswith(f"gradsight.check: {len(problems)} problem(s) in Net")


def test_unchanged_after_the_step_and_zero_gradients() -> None:
    class SkipsAGroup(torch.optim.SGD):
        """An optimizer with a bug: it never updates its second group."""

        def step(self, closure=None):  # type: ignore[override]
            saved = [p.detach().clone() for p in self.param_groups[1]["params"]]
            super().step(closure)
            with torch.no_grad():
                for p, old in zip(self.param_groups[1]["params"], saved):
                    p.copy_(old)

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    nn.init.zeros_(model[2].weight)  # zero output layer: nothing flows back to the first
    optimizer = SkipsAGroup([{"params": model[0].parameters()},
                             {"params": model[2].parameters()}], lr=0.1)
    x = torch.randn(8, 4)
    problems = {(p.name, p.kind) for p in find_problems(model, x, lambda o: o.pow(2).mean() +
                                                         o.mean(), optimizer)}
    assert problems == {("0.weight", "zero_gradient"), ("0.bias", "zero_gradient"),
                        ("2.weight", "unchanged"), ("2.bias", "unchanged")}


@pytest.mark.parametrize("shape", [(400, 400), (1000, 4), (8, 300)])
@pytest.mark.parametrize("side, margin, flagged", [
    ("high", 0.8, False), ("high", 1.25, True), ("low", 0.8, False), ("low", 1.25, True)])
def test_init_boundary(shape: tuple[int, int], side: str, margin: float, flagged: bool) -> None:
    """Just inside INIT_FACTOR x the standard range passes; just outside fails, both sides."""
    torch.manual_seed(0)
    layer = nn.Linear(shape[1], shape[0])
    low, high = standard_std_range(shape[1], shape[0])
    std = high * INIT_FACTOR * margin if side == "high" else low / (INIT_FACTOR * margin)
    with torch.no_grad():
        layer.weight.normal_(0.0, std)
    kinds = [p.kind for p in find_problems(layer, torch.randn(4, shape[1]),
                                           lambda o: o.pow(2).mean())]
    assert ("poor_initialization" in kinds) == flagged


def test_story_003_layer_is_flagged_and_standard_inits_are_not() -> None:
    torch.manual_seed(0)
    deep = nn.Linear(100, 100, bias=False)
    nn.init.normal_(deep.weight, 0.0, 1.0)  # story 003: 10x 1/sqrt(100)
    assert [p.kind for p in find_problems(deep, torch.randn(8, 100),
                                          lambda o: o.pow(2).mean())] == ["poor_initialization"]
    for init in (nn.init.kaiming_normal_, nn.init.xavier_normal_, nn.init.orthogonal_,
                 lambda w: nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh")),
                 lambda w: nn.init.kaiming_normal_(w, mode="fan_out")):
        for shape in ((100, 100), (10, 400), (500, 3), (1000, 1)):  # (out, in)
            layer = nn.Linear(shape[1], shape[0])
            init(layer.weight)
            found = find_problems(layer, torch.randn(8, shape[1]), lambda o: o.pow(2).mean())
            assert found == [], (init, shape, found)


def test_default_pytorch_init_is_never_flagged() -> None:
    torch.manual_seed(0)
    for model in (nn.Linear(3, 500), nn.Linear(2000, 2), nn.Conv2d(3, 64, 7),
                  nn.Conv1d(256, 8, 1)):
        x = torch.randn((2, 3) if isinstance(model, nn.Linear) and model.in_features == 3 else
                        (2, 2000) if isinstance(model, nn.Linear) else
                        (2, 3, 16, 16) if isinstance(model, nn.Conv2d) else (2, 256, 5))
        assert find_problems(model, x, lambda o: o.pow(2).mean()) == []


def test_hugging_face_model_uses_its_loss() -> None:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=16, num_labels=2,
                                     initializer_range=0.1)
    model = transformers.BertForSequenceClassification(config)
    ids = torch.randint(1, 32, (4, 8))
    batch = {"input_ids": ids, "labels": torch.tensor([0, 1, 0, 1])}
    problems = find_problems(model, batch, None, torch.optim.AdamW(model.parameters()))
    # the pooler is used; token_type embeddings get a gradient (all zeros ids); nothing wrong
    assert problems == [], problems
