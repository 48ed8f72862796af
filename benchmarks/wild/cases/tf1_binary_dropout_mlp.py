"""TF1 binary classifier, three ReLU layers with dropout 0.5, Adam 0.005: it trains fine.

Stack Overflow 42821125 ("TensorFlow binary classification: accuracy does not improve"): a
14-20-20-15-1 ReLU MLP with truncated-normal(0.5) weights, dropout 0.5 after every hidden
layer, sigmoid cross-entropy on the logits, Adam at 0.005, 100 full-batch steps on 100 points
(label-0 points shifted by -1, 0 or +1 in every feature). The poster's bug was in the accuracy
(logits compared with 0.5); the accepted fix, run here, thresholds the sigmoid instead. The
training itself was never broken: a real program whose loss falls, with dropout noise.
"""
import random

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/42821125",
    "question": "Why does the accuracy of my TensorFlow binary classifier not improve?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "the loss and accuracy printed every 10 steps"],
    "pair": None,
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "the bug was in the accuracy metric (logits compared with 0.5), not in training: the "
           "loss falls from 4.0 to 0.52, below the 0.66 of predicting the class frequency",
    "measured": {"loss_first": 8.74, "loss_start": 4.04, "loss_end": 0.525,
                 "best_constant_loss": 0.659, "loss_end_over_best_constant": 0.796},
    "measure": "--reference bce:Y",
}

tf.set_random_seed(20180130)
np.random.seed(20180130)
random.seed(20180130)

X = tf.placeholder(tf.float32, shape=[None, 14], name='X')
Y = tf.placeholder(tf.float32, shape=[None, 1], name='Y')

W1 = tf.Variable(tf.truncated_normal(shape=[14, 20], stddev=0.5))
b1 = tf.Variable(tf.zeros([20]))
l1 = tf.nn.relu(tf.matmul(X, W1) + b1)

l1 = tf.nn.dropout(l1, 0.5)

W2 = tf.Variable(tf.truncated_normal(shape=[20, 20], stddev=0.5))
b2 = tf.Variable(tf.zeros([20]))
l2 = tf.nn.relu(tf.matmul(l1, W2) + b2)

l2 = tf.nn.dropout(l2, 0.5)

W3 = tf.Variable(tf.truncated_normal(shape=[20, 15], stddev=0.5))
b3 = tf.Variable(tf.zeros([15]))
l3 = tf.nn.relu(tf.matmul(l2, W3) + b3)

l3 = tf.nn.dropout(l3, 0.5)

W5 = tf.Variable(tf.truncated_normal(shape=[15, 1], stddev=0.5))
b5 = tf.Variable(tf.zeros([1]))
Yhat = tf.matmul(l3, W5) + b5
Ypred = tf.nn.sigmoid(Yhat)

loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=Yhat, labels=Y))

learning_rate = 0.005
l2_weight = 0.001
learner = tf.train.AdamOptimizer(learning_rate).minimize(loss)

correct_prediction = tf.equal(tf.greater(Y, 0.5), tf.greater(Ypred, 0.5))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

unit_train_inputX = []
unit_train_inputY = []
for i in range(100):
    unit_train_inputX.append(np.random.normal(0, 0.1, 14))
    if random.uniform(0, 3) > 1:
        unit_train_inputY.append([0])
        unit_train_inputX[-1] += random.randint(-1, 1)
    else:
        unit_train_inputY.append([1])

sess = tf.Session()
sess.run(tf.global_variables_initializer())
for i in range(100):
    _, loss_, accuracy_ = sess.run([learner, loss, accuracy],
                                   feed_dict={X: unit_train_inputX, Y: unit_train_inputY})
    if i % 10 == 0:
        print("loss {0}, accuracy {1}".format(loss_, accuracy_))
