"""TF1 MNIST softmax regression whose hand-written cross-entropy -sum(y_ * log(y)) goes NaN.

Stack Overflow 33641799 ("Tensorflow NaN bug?"): the beginners' MNIST tutorial with its
cross-entropy written as ``-tf.reduce_sum(y_ * tf.log(y))`` (summed over a batch of 205) and
gradient descent at 0.01. The summed loss makes each step ~205x a mean-loss step; a softmax
probability underflows to exactly 0, ``log(0) = -inf`` and ``0 * -inf = NaN`` poisons the loss,
the gradients and then every weight. Reproduced as posted in the public collection of
Zhang et al. (ISSTA 2018), with the 8x8 scikit-learn digits blown up to 28x28 for MNIST.
"""
import numpy as np
import tensorflow.compat.v1 as tf
from _wild_data import Batches, mnist_like

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/33641799",
    "question": "Why does my TensorFlow MNIST softmax regression print NaN for the loss after a "
                "few hundred steps?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (784 features in "
                "[0, 1], one-hot labels), batches drawn like mnist.train.next_batch",
                "1000 steps as in the reproduction; the final test-set accuracy dropped"],
    "pair": "tf1_softmax_log_lr_halved",
    "category": "positive",
    "architecture": "softmax regression",
    "fast": False,
    "expected": [{"kind": "nonfinite", "where": ["Log", "Variable"], "step_max": 3}],
    "allowed": ["exploding_gradient", "loss_diverging", "loss_spike"],
    "root_cause": "nonfinite",
    "why": "a softmax probability underflows to 0 (the loss is still finite at step 1, 2x the "
           "best-constant level): at step 2 the first non-finite value is the Log op's log(0), "
           "the loss and the gradients follow and W and b turn NaN; the loss summed over 205 "
           "examples takes 205x bigger steps than a mean would",
    "measured": {"loss_first": 472.0, "loss_start": 1030.0, "loss_end": "nan",
                 "first_nonfinite_loss_step": 2, "best_constant_loss": 472.0,
                 "loss_end_over_best_constant": "nan", "first_nonfinite_output": "Log@2",
                 "first_nonfinite_grad": "Variable@2", "loss_step1": 1030.0},
    "measure": "--reference ce:Placeholder_1:sum",
}

tf.set_random_seed(20180130)
images, labels = mnist_like()
mnist = Batches(images.reshape(-1, 784), np.eye(10, dtype=np.float32)[labels], seed=20180130)

sess = tf.InteractiveSession()

x = tf.placeholder(tf.float32, [None, 784])
W = tf.Variable(tf.zeros([784, 10]))
b = tf.Variable(tf.zeros([10]))
y = tf.nn.softmax(tf.matmul(x, W) + b)

y_ = tf.placeholder(tf.float32, [None, 10])
cross_entropy = -tf.reduce_sum(y_ * tf.log(y))
train_step = tf.train.GradientDescentOptimizer(0.01).minimize(cross_entropy)
correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

tf.initialize_all_variables().run()
for i in range(1000):
    batch_xs, batch_ys = mnist.next_batch(205)
    loss, acc, _ = sess.run([cross_entropy, accuracy, train_step],
                            feed_dict={x: batch_xs, y_: batch_ys})
    if i % 100 == 0:
        print("loss %g, acc %g" % (loss, acc))
