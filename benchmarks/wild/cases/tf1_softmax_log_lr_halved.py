"""The accepted fix of Stack Overflow 33641799: the same softmax regression at half the rate.

The answer halved the learning rate (0.01 -> 0.005) and kept the hand-written
``-tf.reduce_sum(y_ * tf.log(y))``; the reproduction of Zhang et al. (ISSTA 2018) runs it for
1000 steps of 205 examples. Whether the halved rate is enough is a property of the run, measured.
"""
import numpy as np
import tensorflow.compat.v1 as tf
from _wild_data import Batches, mnist_like

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/33641799",
    "question": "Why does my TensorFlow MNIST softmax regression print NaN for the loss after a "
                "few hundred steps? (the accepted answer: a smaller learning rate)",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (784 features in "
                "[0, 1], one-hot labels), batches drawn like mnist.train.next_batch",
                "1000 steps as in the reproduction; the final test-set accuracy dropped"],
    "pair": "tf1_softmax_log_nan",
    "category": "healthy",
    "architecture": "softmax regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "halving the rate is enough here: no NaN in 1000 steps, the loss falls to 1% of the "
           "class-frequency level",
    "measured": {"loss_first": 472.0, "loss_start": 32.2, "loss_end": 5.14,
                 "best_constant_loss": 472.0, "loss_end_over_best_constant": 0.0109},
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
train_step = tf.train.GradientDescentOptimizer(0.005).minimize(cross_entropy)
correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

tf.initialize_all_variables().run()
for i in range(1000):
    batch_xs, batch_ys = mnist.next_batch(205)
    loss, acc, _ = sess.run([cross_entropy, accuracy, train_step],
                            feed_dict={x: batch_xs, y_: batch_ys})
    if i % 100 == 0:
        print("loss %g, acc %g" % (loss, acc))
