"""The accepted fix of Stack Overflow 38447935: targets reshaped to (3, 1), the line is fitted.

Same model and Adam at 1e-4; with ``tf.expand_dims(y_, 1)`` each prediction meets its own
target and the error falls towards 0 (slowly: Adam moves each weight by ~1e-4 a step).
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/38447935",
    "question": "Why does my TensorFlow linear fit converge to the wrong weights? (the fix)",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "20000 steps instead of 50000; the error evaluated only when printed (every 1000)"],
    "pair": "tf1_broadcast_mse",
    "category": "healthy",
    "architecture": "linear regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "each prediction meets its own target: the error falls to 0.1% of the best-constant "
           "level",
    "measured": {"loss_first": 6.05, "loss_start": 4.67, "loss_end": 0.000965,
                 "best_constant_loss": 0.667, "loss_end_over_best_constant": 0.00145},
    "measure": "--reference mse:ExpandDims",
}

tf.set_random_seed(20180130)


def weight_variable(shape):
    """Initialize the weights with random weights"""
    initial = tf.truncated_normal(shape, stddev=0.1, dtype=tf.float64)
    return tf.Variable(initial)


x = tf.constant([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]], dtype=tf.float64)
y_ = tf.constant([1.0, 2.0, 3.0], dtype=tf.float64)
y_ = tf.expand_dims(y_, axis=1)

w = weight_variable((2, 1))
y = tf.matmul(x, w)

error = tf.reduce_mean(tf.square(y_ - y))

train_step = tf.train.AdamOptimizer(1e-4).minimize(error)

with tf.Session() as sess:
    sess.run(tf.initialize_all_variables())

    for i in range(20000):
        sess.run(train_step)

        if i % 1000 == 0:
            err = sess.run(error)
            print("\nerr:", err)
            print("w: ", sess.run(w))
