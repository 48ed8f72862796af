"""TF1 MLP whose hand-written binary cross-entropy takes the log of a linear output: NaN at once.

Stack Overflow 35078027 ("NaN from tf.log in a one-hidden-layer MLP"): 784-512 sigmoid hidden
layer with N(0, 1) weights and no biases, a *linear* 10-unit output fed straight into
``-y*log(y_) - (1-y)*log(1-y_)``. Half the outputs are negative, so ``log`` returns NaN on the
first forward pass; gradient descent at 0.05 then writes NaN into both weight matrices.
"""
import numpy as np
import tensorflow.compat.v1 as tf
from _wild_data import Batches, mnist_like

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/35078027",
    "question": "Why is the loss of my TensorFlow MLP NaN from the first step?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (784 features in "
                "[0, 1], one-hot labels), batches drawn like mnist.train.next_batch",
                "300 steps instead of 10000"],
    "pair": "tf1_sigmoid_mlp_clipped_output",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "nonfinite", "where": ["Log"], "step_max": 0},
                 {"kind": "saturated_activation", "where": ["Sigmoid"]}],
    "allowed": ["loss_not_decreasing"],
    "root_cause": "nonfinite",
    "why": "log of a negative linear output: the loss is NaN from step 0 (its gradient 1/y_ stays "
           "finite, so the weights keep moving on garbage); the N(0, 1) weights over 784 inputs "
           "also saturate ~70% of the hidden sigmoids from the start",
    "measured": {"loss_first": "nan", "loss_start": "nan", "loss_end": "nan",
                 "first_nonfinite_loss_step": 0, "best_constant_loss": 3.25,
                 "loss_end_over_best_constant": "nan", "first_nonfinite_output": "Log@0",
                 "hidden_saturated_init": 0.681, "hidden_saturated_med": 0.704},
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
y_ = tf.matmul(h1, W_out)

cross_entropy = tf.reduce_sum(- y * tf.log(y_) - (1 - y) * tf.log(1 - y_), 1)
loss = tf.reduce_mean(cross_entropy)
train_step = tf.train.GradientDescentOptimizer(0.05).minimize(loss)

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
