"""The seeds in TensorFlow get the same diagnosis as in PyTorch (issue 5's "done when")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.tf.conftest import gradsight_run, problems, python_run

TF = EXAMPLES / "tf"


@pytest.mark.slow
def test_tf1_three_layer_seed_as_posted_has_vanishing_gradient_at_W(tmp_path: Path) -> None:
    doc = gradsight_run(tmp_path, TF / "seed_000_001_three_layer_tf1.py")
    assert doc["framework"] == "tensorflow" and doc["steps"] == 10_000
    # root cause first: the N(0, 1e-3) init (poor_initialization, as on the PyTorch side since
    # issue 4), then the vanishing gradient it causes; both name W first
    found = problems(doc)
    assert found[0]["kind"] in ("poor_initialization", "vanishing_gradient")
    assert found[0]["where"][0] == "W" and found[0]["severity"] == "error"
    first = next(f for f in found if f["kind"] == "vanishing_gradient")
    # error at 1000x below the reference, warning at 100x: the unseeded script lands either side
    assert first["severity"] in ("error", "warning")
    assert first["where"][0] == "W" and "W1" in first["where"]
    assert "W2" not in first["where"] and first["evidence"]["reference_param"] == "W2"
    ratios = first["evidence"]["grad_to_weight_median"]
    # measured: |g|/|w| ~1e-3 at W against ~0.8-1.7 at W2 (the expert's "1000 times
    # smaller"); the script seeds nothing, so each run differs a little
    assert 1e-4 < ratios["W"] < 1e-2 and 0.3 < first["evidence"]["reference_grad_to_weight"] < 10
    stalled = [f for f in doc["findings"] if f["kind"] == "stalled_weights"]
    assert stalled and stalled[0]["evidence"]["caused_by"] in ("vanishing_gradient",
                                                               "poor_initialization")
    assert any('tf.get_variable("W"' in fix for fix in found[0]["fixes"])


@pytest.mark.slow
def test_tf1_two_layer_seed_as_posted_has_no_warning(tmp_path: Path) -> None:
    doc = gradsight_run(tmp_path, TF / "seed_000_001_two_layer_tf1.py")
    assert doc["framework"] == "tensorflow" and doc["steps"] == 10_000
    # The script seeds nothing. In about one run in three, half of the first layer's 16 ReLUs
    # die during the plateau (no input of the last ~3,000 steps makes them fire); the loss
    # usually still falls ~400x, so dead_units says so as info. A run whose loss fell less
    # (seen once in CI) gets the warning the rule gives it: judged on the run's own fate.
    assert [f for f in problems(doc) if f["kind"] != "dead_units"] == []
    for finding in doc["findings"]:
        if finding["kind"] == "dead_units":
            fell = finding["evidence"]["loss_fell_factor"]
            assert (finding["severity"] == "info") == (fell is not None and fell >= 100)


def test_keras_seed_002_dangling_batchnorm_gets_no_gradient(tmp_path: Path) -> None:
    script = TF / "seed_002_batchnorm_keras.py"
    doc = gradsight_run(tmp_path, script, "--steps", "60")
    assert [f["kind"] for f in problems(doc)] == ["no_gradient"]
    missing = problems(doc)[0]
    assert missing["where"] == ["actor/input_norm/gamma", "actor/input_norm/beta"]
    assert missing["evidence"]["module_output_used"] is False
    info = [f for f in doc["findings"] if f["kind"] == "redundant_bias"]
    assert info and info[0]["severity"] == "info" and info[0]["where"] == ["actor/layer_1/bias"]
    assert info[0]["evidence"]["bias_to_weight_grad_median"]["actor/layer_1/bias"] < 1e-4
    assert "use_bias=False" in info[0]["fixes"][0]
    assert not any(f["kind"] == "vanishing_gradient" for f in doc["findings"])
    # Watching does not change what the training computes. In a traced `fit` step the gradients
    # gain one more reader (their norms), and TensorFlow's graph optimizer then skips a rewrite
    # that needs a single reader (folding constant multiplications into the update), which
    # moves float32 rounding by an ulp or so on some CPUs: equal to float32 precision here; the
    # custom-loop tests in test_tf_adapters compare every step exactly.
    final = [float(ln.split()[-1]) for ln in doc["_stdout"].splitlines()
             if ln.startswith("final imitation loss")]
    plain = [float(ln.split()[-1]) for ln in python_run(script, "--steps", "60").splitlines()
             if ln.startswith("final imitation loss")]
    assert final and plain and abs(final[0] - plain[0]) <= 1e-6 * abs(plain[0])


def test_tf2_seed_004_is_not_diagnosed_as_vanishing(tmp_path: Path) -> None:
    doc = gradsight_run(tmp_path, TF / "seed_004_digits_cnn.py", "--steps", "120",
                        "--batch-size", "64")
    assert doc["framework"] == "tensorflow" and doc["steps"] == 120
    kinds = {f["kind"] for f in doc["findings"]}
    assert "vanishing_gradient" not in kinds and "stalled_weights" not in kinds


def test_tf1_seed_002_none_gradients_only_for_the_unused_batch_norm(tmp_path: Path) -> None:
    doc = gradsight_run(tmp_path, TF / "seed_002_batchnorm_tf1.py", "--steps", "40")
    assert "None gradients:" in doc["_stdout"]  # the script's own print: 2 gammas/betas + stats
    scope = "actor_imitation/layer_1/"
    assert [f["kind"] for f in problems(doc)] == ["no_gradient"]
    # the moving statistics get None too, but are not trainable: not findings
    assert problems(doc)[0]["where"] == [scope + "batch_normalization_v1/gamma",
                                         scope + "batch_normalization_v1/beta"]
    info = [f for f in doc["findings"] if f["kind"] == "redundant_bias"]
    assert info and info[0]["where"] == [scope + "bias_actor_layer1"]
    assert info[0]["summary"].count("normalizer_actor_layer1") >= 1
