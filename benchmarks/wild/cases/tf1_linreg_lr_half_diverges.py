"""TF1 linear regression on x = 0..99 with gradient descent at 0.5: the loss blows up to inf/NaN.

Stack Overflow 43636736 ("TensorFlow linear regression returns NaN"): fit y = 2x + 4 + noise
with a 1x2 weight row on [x, 1], loss sum((Y - WX)^2) / 2T, gradient descent at 0.5. The
curvature along the slope is mean(x^2) ~ 3,300, so any rate above ~6e-4 overshoots and every
step multiplies the error by ~1,600: inf within a few steps, then NaN. The answer: rate 5e-4.
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/43636736",
    "question": "Why does my simple TensorFlow linear regression print inf and then NaN?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21"],
    "pair": "tf1_linreg_lr_5e4",
    "category": "positive",
    "architecture": "linear regression",
    "fast": True,
    "expected": [{"kind": "nonfinite", "where": ["W"]}],
    "allowed": ["exploding_gradient", "loss_diverging", "loss_spike"],
    "root_cause": None,
    "why": "the learning rate is ~800x above 2/curvature (mean x^2 ~ 3,300): each step multiplies "
           "the error, the loss overflows to inf and then NaN",
    "measured": {"loss_first": 2070.0, "loss_start": 2.92e+35, "loss_end": "nan",
                 "first_nonfinite_loss_step": 6, "best_constant_loss": 1660.0,
                 "loss_end_over_best_constant": "nan", "first_nonfinite_output": "Pow@6",
                 "first_nonfinite_grad": "W@11", "grad_growth": 8.64e+28},
    "measure": "--reference mse:Y:t,x0.5",
}

tf.set_random_seed(20180130)
np.random.seed(20180130)

T = 100
noise = 10 * np.random.random(size=T).astype(np.float32)
x = np.array([np.arange(T), np.ones(T)]).astype(np.float32)
w = np.array([[2, 4]]).astype(np.float32)
y = w.dot(x) + noise
X = tf.placeholder(tf.float32, [2, T], name="X")
W = tf.Variable(tf.ones([1, 2]), name="W")
Yhat = tf.matmul(W, X)
Y = tf.placeholder(tf.float32, [1, T], name="Y")
MSE = (1. / (2 * T)) * tf.reduce_sum(tf.pow(Y - Yhat, 2))
sess = tf.InteractiveSession()
tf.global_variables_initializer().run()
trainer = tf.train.GradientDescentOptimizer(0.5).minimize(MSE)
for _ in range(100):
    sess.run(trainer, feed_dict={X: x, Y: y})
    print(sess.run(MSE, feed_dict={X: x, Y: y}))
