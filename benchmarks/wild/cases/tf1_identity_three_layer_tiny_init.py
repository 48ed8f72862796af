# ruff: noqa: E501, E741  (the program as posted)
"""TF1 identity encoder, three layers, every weight and bias N(0, 1e-3): the weights stop moving.

Stack Overflow 48816873 ("Intermediate layer makes tensorflow optimizer to stop working", the
project's seeds 000/001): a 1-16-16-1 ReLU network learning y = x one random sample at a time,
plain gradient descent at 1e-3. With two tiny layers the signal through the network is ~1e-6
and the first layer's gradient ~1000x smaller than the last one's: it barely learns. The answer:
Xavier weights and bias 0.1.
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/48816873",
    "question": "After adding an intermediate layer, why do my TensorFlow weights no longer "
                "evolve?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "print made Python 3, and only every 500th step printed",
                "numpy seeded (np.random.seed(0)); the post seeds nothing"],
    "pair": "tf1_identity_two_layer_tiny_init",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "poor_initialization", "where": ["W"]},
                 {"kind": "vanishing_gradient", "where": ["W", "W1"]}],
    "allowed": ["dead_units", "stalled_weights", "loss_not_decreasing"],
    "root_cause": "poor_initialization",
    "why": "N(0, 1e-3) weights shrink the signal ~1000x in the first layer (output rms 6e-4 for "
           "inputs of rms 0.58); the gradients of W and W1 are ~1000-2000x below W2 relative to "
           "their weights, they barely move, and the loss never falls (it ends at 0.85x what "
           "predicting the mean gives)",
    "measured": {"loss_first": 0.00941, "loss_start": 0.243, "loss_end": 0.284,
                 "best_constant_loss": 0.335, "loss_end_over_best_constant": 0.847,
                 "g_over_w_W": 0.00116, "g_over_w_W1": 0.000514, "g_over_w_W2": 1.15,
                 "rms_O_init": 0.000575, "dead_O1_end": 0.562},
    "measure": "--reference mse:GatherNd_1",
}

np.random.seed(0)
tf.set_random_seed(0)
initia = tf.random_normal_initializer(0, 1e-3)

DEPTH_1 = 16
OUT_DEPTH = 1
I = tf.placeholder(tf.float32, shape=[None,1], name='I') # input
W = tf.get_variable('W', shape=[1,DEPTH_1], initializer=initia, dtype=tf.float32, trainable=True) # weights
b = tf.get_variable('b', shape=[DEPTH_1], initializer=initia, dtype=tf.float32, trainable=True) # biases
O = tf.nn.relu(tf.matmul(I, W) + b, name='O') # activation / output

W1 = tf.get_variable('W1', shape=[DEPTH_1,DEPTH_1], initializer=initia, dtype=tf.float32) # weights
b1 = tf.get_variable('b1', shape=[DEPTH_1], initializer=initia, dtype=tf.float32) # biases
O1 = tf.nn.relu(tf.matmul(O, W1) + b1, name='O1')

W2 = tf.get_variable('W2', shape=[DEPTH_1,OUT_DEPTH], initializer=initia, dtype=tf.float32) # weights
b2 = tf.get_variable('b2', shape=[OUT_DEPTH], initializer=initia, dtype=tf.float32) # biases
O2 = tf.matmul(O1, W2) + b2

O2_0 = tf.gather_nd(O2, [[0,0]])

estimate0 = 2.0*O2_0

eval_inp = tf.gather_nd(I,[[0,0]])

distance = tf.reduce_sum( tf.square( eval_inp - estimate0 ) )

opt = tf.train.GradientDescentOptimizer(1e-3)
grads_and_vars = opt.compute_gradients(distance, [W, b, W1, b1,
  W2, b2])
clipped_grads_and_vars = [(tf.clip_by_value(g, -4.5, 4.5), v) for g, v in grads_and_vars]

train_op = opt.apply_gradients(clipped_grads_and_vars)

saver = tf.train.Saver()
init_op = tf.global_variables_initializer()

with tf.Session() as sess:
  sess.run(init_op)
  for i in range(10000):
    out = sess.run([train_op, I, W, distance], feed_dict={ I: 2.0*np.random.rand(1,1) - 1.0})
    if i % 500 == 0:
      print(out)
  for i in range(10):
    print(sess.run([eval_inp, W, estimate0], feed_dict={ I: 2.0*np.random.rand(1,1) - 1.0}))
