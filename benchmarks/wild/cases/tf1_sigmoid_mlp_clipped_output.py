"""The accepted fix of Stack Overflow 35078027: a sigmoid output, clipped logs, rate 0.5.

Same 784-512 sigmoid MLP with N(0, 1) weights and no biases; the answer puts a sigmoid on the
output, clips both logs to [1e-10, 1] and raises the rate to 0.5 (the reproduction of Zhang et
al., ISSTA 2018). No NaN any more; what the N(0, 1) weights do to the sigmoid units is measured.
"""
import numpy as np
import tensorflow.compat.v1 as tf
from _wild_data import Batches, mnist_like

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/35078027",
    "question": "Why is the loss of my TensorFlow MLP NaN from the first step? (the accepted fix)",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (784 features in "
                "[0, 1], one-hot labels), batches drawn like mnist.train.next_batch",
                "300 steps instead of 10000"],
    "pair": "tf1_sigmoid_mlp_log_linear_output",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "saturated_activation", "where": ["Sigmoid"]},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["poor_initialization", "vanishing_gradient", "stalled_weights"],
    "root_cause": None,
    "why": "the fix removes the NaN but keeps the N(0, 1) weights: over 784 inputs they saturate "
           "~70% of the hidden sigmoids from step 0 (the output sigmoids end 99% saturated) and "
           "the loss stays ~5x above what predicting the class frequencies gives",
    "measured": {"loss_first": 36.6, "loss_start": 19.0, "loss_end": 15.9,
                 "best_constant_loss": 3.25, "loss_end_over_best_constant": 4.89,
                 "hidden_saturated_init": 0.681, "hidden_saturated_med": 0.714,
                 "output_saturated_end": 0.99},
    "measure": "--reference bce:Placeholder_1:cols",
}

tf.set_random_seed(20180130)
images, labels = mnist_like()
mnist = Batches(images.reshape(-1, 784), np.eye(10, dtype=np.float32)[labels], seed=20180130)

x = tf.placeholder(tf.float32, shape=[None, 784])
y = tf.placeholder(tf.float32, shape=[None, 10])

W_h1 = tf.Variable(tf.random_normal([784, 512]))
h1 = tf.nn.sigmoid(tf.matmul(x, W_h1))

W_out = tf.Variable(tf.random_normal([512, 10]))
y_ = tf.nn.sigmoid(tf.matmul(h1, W_out))

cross_entropy = tf.reduce_sum(- y * tf.log(tf.clip_by_value(y_, 1e-10, 1.0))
                              - (1 - y) * tf.log(tf.clip_by_value(1 - y_, 1e-10, 1.0)), 1)
loss = tf.reduce_mean(cross_entropy)
train_step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)

correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

with tf.Session() as s:
    s.run(tf.initialize_all_variables())
    for i in range(300):
        batch_x, batch_y = mnist.next_batch(100)
        s.run(train_step, feed_dict={x: batch_x, y: batch_y})
        if i % 100 == 0:
            loss1, train_accuracy = s.run([loss, accuracy], feed_dict={x: batch_x, y: batch_y})
            print('step {0}, training accuracy {1}, loss {2}'.format(i, train_accuracy, loss1))
