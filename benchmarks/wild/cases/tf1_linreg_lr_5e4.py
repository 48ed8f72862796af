"""The accepted fix of Stack Overflow 43636736: the same linear regression at rate 5e-4.

Below 2/curvature (mean x^2 ~ 3,300) the slope converges at once; the intercept's curvature is
~3,300x smaller, so at this rate it crawls: the loss falls from ~3,400 to the level the slope
alone can reach and then creeps down over 100 steps.
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/43636736",
    "question": "Why does my simple TensorFlow linear regression print inf and then NaN? (the "
                "accepted fix)",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21"],
    "pair": "tf1_linreg_lr_half_diverges",
    "category": "healthy",
    "architecture": "linear regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "the slope converges within a few steps (the loss falls 160x, to 0.8% of the "
           "best-constant level); only the intercept, 3,300x flatter, still creeps",
    "measured": {"loss_first": 2070.0, "loss_start": 72.5, "loss_end": 12.8,
                 "best_constant_loss": 1660.0, "loss_end_over_best_constant": 0.00775,
                 "update_over_w_med": 0.0146},
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
trainer = tf.train.GradientDescentOptimizer(0.0005).minimize(MSE)
for _ in range(100):
    sess.run(trainer, feed_dict={X: x, Y: y})
    print(sess.run(MSE, feed_dict={X: x, Y: y}))
