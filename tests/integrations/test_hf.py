"""Hugging Face ``transformers.Trainer`` with a tiny BERT built from a config (nothing is
downloaded): zero-code ``gradsight run`` and ``gradsight.hf.Callback`` name every parameter as
the model does, and a classifier layer the model never calls is found (``no_gradient``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from tests.conftest import read_json, run_gradsight  # noqa: E402

MODEL = '''
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

def build(unused=False):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=32, num_labels=2)
    model = BertForSequenceClassification(config)
    if unused:
        model.extra_head = nn.Linear(16, 2)  # built, never called by forward
    return model

def data():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 64, (64, 12), generator=g)
    labels = (ids[:, 0] > 32).long()
    return [{"input_ids": i, "attention_mask": torch.ones_like(i), "labels": l}
            for i, l in zip(ids, labels)]

def trainer(model, out, callbacks=()):
    args = TrainingArguments(output_dir=out, max_steps=12, per_device_train_batch_size=16,
                             learning_rate=1e-3, report_to=[], save_strategy="no",
                             logging_steps=4, use_cpu=True, disable_tqdm=True)
    return Trainer(model=model, args=args, train_dataset=data(), callbacks=list(callbacks))
'''


def _load(tmp_path: Path) -> Any:
    import importlib.util

    path = tmp_path / "hfmodel.py"
    path.write_text(MODEL)
    spec = importlib.util.spec_from_file_location("hfmodel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.slow
def test_zero_code_run_on_a_trainer_script(tmp_path: Path) -> None:
    (tmp_path / "hfmodel.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(
        "import json, sys\nfrom hfmodel import *\nmodel = build(unused=True)\n"
        "print('NAMES ' + json.dumps([n for n, _ in model.named_parameters()]))\n"
        "trainer(model, sys.argv[1]).train()\n")
    proc = run_gradsight("run", "--out", str(tmp_path / "run"), "train.py",
                         str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = json.loads(next(line for line in proc.stdout.splitlines()
                            if line.startswith("NAMES "))[len("NAMES "):])
    doc = read_json(tmp_path / "run" / "findings.json")
    assert doc["steps"] == 12
    unused = [f for f in doc["findings"] if f["kind"] == "no_gradient"]
    assert [f["where"] for f in unused] == [["extra_head.weight", "extra_head.bias"]]
    modules = {n.rsplit(".", 1)[0] for n in names}
    for finding in doc["findings"]:  # every place is the model's own name
        assert all(w in names or w in modules for w in finding["where"]), finding


@pytest.mark.slow
def test_callback_reports_and_logs(tmp_path: Path) -> None:
    import gradsight

    hf = _load(tmp_path)
    model = hf.build(unused=True)
    callback = gradsight.hf.Callback(out=tmp_path / "run", report=False)
    trainer = hf.trainer(model, str(tmp_path / "out"), [callback])
    trainer.train()
    unused = [f for f in callback.findings if f.kind == "no_gradient"]
    assert [f.where for f in unused] == [["extra_head.weight", "extra_head.bias"]]
    names = {n for n, _ in model.named_parameters()}
    from gradsight.core.run_view import RunView

    view = RunView.open(tmp_path / "run")
    try:
        assert {e.name for e in view.entities("param")} == names
        assert view.steps == 12
    finally:
        view.close()
    logged = trainer.state.log_history[-1]
    assert logged["gradsight/no_gradient"] == 2.0 and logged["step"] == 12


def test_gpt2_conv1d_weights_are_linear_layers_with_their_own_fan_in(tmp_path: Path) -> None:
    """GPT-2's projections are ``transformers.pytorch_utils.Conv1D``: a linear layer whose
    weight is stored (in, out). Read as PyTorch's (out, in), c_fc's fan-in would be its 512
    outputs, not its 128 inputs, and every recommended init scale 2-4x off."""
    from transformers import GPT2Config, GPT2LMHeadModel

    import gradsight
    from gradsight.core.run_view import RunView

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_positions=16, n_embd=128, n_layer=1, n_head=2)
    model = GPT2LMHeadModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, 64, (4, 16))
    with gradsight.watch(model, opt, out=tmp_path / "run"):
        for _ in range(3):
            loss = model(ids, labels=ids).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    view = RunView.open(tmp_path / "run")
    try:
        for name, inputs in (("attn.c_attn", 128), ("mlp.c_fc", 128), ("mlp.c_proj", 512)):
            weight = view.entity("param", f"transformer.h.0.{name}.weight")
            assert weight is not None
            assert weight.get("fan_in") == inputs == weight.get("shape")[0]
            assert weight.get("module_kind") == "linear"
        plain = view.entity("param", "transformer.wte.weight")  # (lm_head's, tied): an Embedding
        assert plain is not None and plain.get("fan_in") is None
    finally:
        view.close()
