"""TF1 one-variable regression, x uniform in [-8, 8], gradient descent at 0.1: the loss explodes.

Stack Overflow 39939881 ("TensorFlow simple regression gives NaN"): eight points on a random
line, y = w*x + b, mean squared error, gradient descent at 0.1. The curvature along w is
2*mean(x^2) ~ 40, so 0.1 overshoots by ~4x per step: the error grows ~3x a step until it
overflows. The answer replaced plain gradient descent by Adam at the same rate.
"""
import random

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/39939881",
    "question": "Why does gradient descent on my one-variable TensorFlow regression give NaN?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21"],
    "pair": "tf1_regression_adam",
    "category": "positive",
    "architecture": "linear regression",
    "fast": False,
    "expected": [{"kind": "loss_diverging", "where": []}],
    "allowed": ["exploding_gradient", "nonfinite", "loss_spike"],
    "root_cause": None,
    "why": "plain gradient descent at 0.1 against a curvature of 2*mean(x^2) ~ 40: each step "
           "overshoots and multiplies the error",
    "measured": {"loss_first": 411.0, "loss_start": 114000.0, "loss_end": "inf",
                 "first_nonfinite_loss_step": 72, "best_constant_loss": 383.0,
                 "loss_end_over_best_constant": "inf", "first_nonfinite_output": "Mean@72",
                 "grad_growth": 5.6e+21},
    "measure": "--reference mse:Placeholder_1",
}

tf.set_random_seed(20180130)
np.random.seed(20180130)
random.seed(20180130)

_w = random.uniform(-8, 8)
_b = random.uniform(-8, 8)
print(_w, _b)
size = 8
X = [random.uniform(-8, 8) for _ in range(size)]
Y = [_w * x + _b + random.uniform(-1, 1) for x in X]
x = tf.placeholder(tf.float32, [None])
y = tf.placeholder(tf.float32, [None])
W = tf.Variable(tf.zeros([1]))
B = tf.Variable(tf.zeros([1]))
y_ = tf.multiply(x, W) + B
loss = tf.reduce_mean(tf.square(y_ - y))
optimizer = tf.train.GradientDescentOptimizer(1e-1).minimize(loss)
sess = tf.Session()
sess.run(tf.global_variables_initializer())
for i in range(100):
    _, los, w, b = sess.run([optimizer, loss, W, B], feed_dict={x: X, y: Y})
    print("loss %g, w %g, b %g" % (los, w[0], b[0]))
