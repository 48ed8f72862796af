"""TF1 line fit whose targets (3,) broadcast against predictions (3, 1): it learns only the mean.

Stack Overflow 38447935 ("TensorFlow doesn't fit a simple line"): y = x w with x = [[1, 1],
[1, 2], [1, 3]], targets [1, 2, 3] of shape (3,), predictions of shape (3, 1), Adam at 1e-4.
``y_ - y`` broadcasts to a 3x3 matrix: every prediction is compared with every target, the
minimum is predicting the targets' mean for every input, and the loss floors at their variance
(2/3) instead of 0. The answer: ``tf.expand_dims(y_, 1)``.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/38447935",
    "question": "Why does my TensorFlow linear fit converge to the wrong weights?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "20000 steps instead of 50000; the error evaluated only when printed (every 1000)"],
    "pair": "tf1_broadcast_mse_fixed",
    "category": "positive",
    "architecture": "linear regression",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights"],
    "root_cause": "loss_not_decreasing",
    "why": "(3,) - (3, 1) broadcasts to all 9 target/prediction pairs; the best the model can do "
           "is the constant mean, so the loss settles at the targets' variance",
    "measured": {"loss_first": 5.92, "loss_start": 4.66, "loss_end": 0.709,
                 "best_constant_loss": 0.667, "loss_end_over_best_constant": 1.06},
    "measure": "--reference mse:Const_1",
}

tf.set_random_seed(20180130)


def weight_variable(shape):
    """Initialize the weights with random weights"""
    initial = tf.truncated_normal(shape, stddev=0.1, dtype=tf.float64)
    return tf.Variable(initial)


x = tf.constant([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]], dtype=tf.float64)
y_ = tf.constant([1.0, 2.0, 3.0], dtype=tf.float64)

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
