"""The accepted fix of Stack Overflow 39939881: the same regression with Adam at 0.1.

Adam's steps are bounded by its rate whatever the curvature, so the eight-point line is fitted
within 100 steps.
"""
import random

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/39939881",
    "question": "Why does gradient descent on my one-variable TensorFlow regression give NaN? "
                "(the accepted fix)",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21"],
    "pair": "tf1_regression_sgd_diverges",
    "category": "healthy",
    "architecture": "linear regression",
    "fast": True,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "Adam bounds each step by its rate: the line is fitted (loss to 0.07% of the "
           "best-constant level)",
    "measured": {"loss_first": 411.0, "loss_start": 350.0, "loss_end": 0.278,
                 "best_constant_loss": 383.0, "loss_end_over_best_constant": 0.000725},
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
optimizer = tf.train.AdamOptimizer(1e-1).minimize(loss)
sess = tf.Session()
sess.run(tf.global_variables_initializer())
for i in range(100):
    _, los, w, b = sess.run([optimizer, loss, W, B], feed_dict={x: X, y: Y})
    print("loss %g, w %g, b %g" % (los, w[0], b[0]))
