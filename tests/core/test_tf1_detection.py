"""Which scripts ``gradsight run`` treats as TF1 (no TensorFlow needed to decide)."""

from __future__ import annotations

from pathlib import Path

from gradsight.adapters.tf_common import tf1_mode

SEEDS = Path(__file__).resolve().parents[2] / "examples" / "tf"


def test_the_posted_tf1_seeds_are_tf1_and_the_tf2_ports_are_not() -> None:
    assert tf1_mode((SEEDS / "seed_000_001_three_layer_tf1.py").read_text())
    assert tf1_mode((SEEDS / "seed_000_001_two_layer_tf1.py").read_text())
    assert tf1_mode((SEEDS / "seed_002_batchnorm_tf1.py").read_text())
    assert not tf1_mode((SEEDS / "seed_002_batchnorm_keras.py").read_text())
    # its docstring mentions tf.random_normal: strings and comments do not count
    assert not tf1_mode((SEEDS / "seed_004_digits_cnn.py").read_text())


def test_python2_prints_still_tokenize_and_compat_imports_need_no_alias() -> None:
    assert tf1_mode("import tensorflow as tf\nx = tf.placeholder(tf.float32)\nprint x\n")
    assert not tf1_mode("import tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32)\n")
    assert not tf1_mode("import tensorflow as tf\n# tf.Session() was used here once\n")
    assert not tf1_mode("import tensorflow as tf\nx = tf.GradientTape()\n")
