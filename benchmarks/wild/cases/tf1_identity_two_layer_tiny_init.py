# ruff: noqa: E501, E741  (the program as posted)
"""TF1 identity encoder, two layers, N(0, 1e-3) weights: the version that does learn.

Stack Overflow 48816873 (the project's seeds 000/001), the question's first script: the
1-16-1 ReLU network with the intermediate layer commented out. With one tiny layer the
gradients still reach W; the poster saw its weights evolve.
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/48816873",
    "question": "The network that still learns, before an intermediate layer was added",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "print made Python 3, and only every 500th step printed",
                "numpy seeded (np.random.seed(0)); the post seeds nothing"],
    "pair": "tf1_identity_three_layer_tiny_init",
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "with one tiny layer the gradients reach W: its |g|/|w| is ~0.2, the loss falls to "
           "0.07% of the best-constant level (31% of the 16 ReLUs end dead, below any alarm "
           "level)",
    "measured": {"loss_first": 0.0101, "loss_start": 0.242, "loss_end": 0.000239,
                 "best_constant_loss": 0.335, "loss_end_over_best_constant": 0.000714,
                 "g_over_w_W": 0.212, "dead_O_end": 0.312},
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

#W1 = tf.get_variable('W1', shape=[DEPTH_1,DEPTH_1], initializer=initia, dtype=tf.float32) # weights
#b1 = tf.get_variable('b1', shape=[DEPTH_1], initializer=initia, dtype=tf.float32) # biases
#O1 = tf.nn.relu(tf.matmul(O, W1) + b1, name='O1')

W2 = tf.get_variable('W2', shape=[DEPTH_1,OUT_DEPTH], initializer=initia, dtype=tf.float32) # weights
b2 = tf.get_variable('b2', shape=[OUT_DEPTH], initializer=initia, dtype=tf.float32) # biases
O2 = tf.matmul(O, W2) + b2

O2_0 = tf.gather_nd(O2, [[0,0]])

estimate0 = 2.0*O2_0

eval_inp = tf.gather_nd(I,[[0,0]])
k = 1e-5
L = 5.0
distance = tf.reduce_sum( tf.square( eval_inp - estimate0 ) )

opt = tf.train.GradientDescentOptimizer(1e-3)
grads_and_vars = opt.compute_gradients(distance, [W, b, #W1, b1,
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
