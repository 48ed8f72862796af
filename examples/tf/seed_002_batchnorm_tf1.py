"""Seed 002 in TF1 graph mode: the posted actor network, as a ``tf.Session`` script.

As posted: ``tf.get_variable`` layers under variable scopes, a batch norm after ``layer_1``,
leaky ReLU, dropout, ``MomentumOptimizer`` on ``tf.gradients`` of every *global* variable of the
scope (so the batch norms' moving statistics are in the list and get ``None``: not a finding,
they are not trainable), and an input batch norm whose output is never used (its gamma/beta get
``None``: the real finding). ``tf.layers.batch_normalization`` needs Keras 2, which TF 2.16+ no
longer ships, so the batch norm is written out with ``tf.nn.moments`` as that layer computes it.

    gradsight run examples/tf/seed_002_batchnorm_tf1.py       # TF1 is detected from the source
"""

import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

tf.set_random_seed(args.seed)
rng = np.random.RandomState(args.seed)


def batch_normalization(x, name, training=True, momentum=0.99, epsilon=1e-3):
    """``tf.layers.batch_normalization(x, name=name, training=True)``, written out."""
    with tf.variable_scope(name):
        size = x.get_shape().as_list()[-1]
        gamma = tf.get_variable("gamma", [size], initializer=tf.ones_initializer())
        beta = tf.get_variable("beta", [size], initializer=tf.zeros_initializer())
        moving_mean = tf.get_variable("moving_mean", [size], trainable=False,
                                      initializer=tf.zeros_initializer())
        moving_var = tf.get_variable("moving_variance", [size], trainable=False,
                                     initializer=tf.ones_initializer())
        mean, var = tf.nn.moments(x, [0])
        tf.add_to_collection(tf.GraphKeys.UPDATE_OPS,
                             tf.assign(moving_mean, momentum * moving_mean + (1 - momentum) * mean))
        tf.add_to_collection(tf.GraphKeys.UPDATE_OPS,
                             tf.assign(moving_var, momentum * moving_var + (1 - momentum) * var))
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, epsilon)


def layer(layer_input, layer_scope, hidden, dropout_rate):
    with tf.variable_scope(layer_scope):
        initializer_w = tf.random_normal_initializer(0.0, 0.3)
        initializer_b = tf.constant_initializer(0.1)
        w_collection = tf.get_variable("weight_actor_layer1", [4, hidden],
                                       initializer=initializer_w)
        b_collection = tf.get_variable("bias_actor_layer1", [1, hidden], initializer=initializer_b)
        layer_output_0 = tf.matmul(layer_input, w_collection) + b_collection
        batch_normalization(layer_input, "batch_normalization_v1")  # output never used
        normalized = batch_normalization(layer_output_0, "normalizer_actor_layer1")
        layer_output = tf.nn.leaky_relu(normalized)
        return tf.nn.dropout(layer_output, rate=dropout_rate)


S = tf.placeholder(tf.float32, [None, 4], name="s")
A_I = tf.placeholder(tf.float32, [None, 2], name="expert_action")
with tf.variable_scope("actor_imitation"):
    hidden = layer(S, "layer_1", 185, 0.1)
    with tf.variable_scope("action"):
        w_action = tf.get_variable("weight_actor_action", [185, 2],
                                   initializer=tf.random_normal_initializer(0.0, 0.3))
        a = tf.matmul(hidden, w_action)

e_params = tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="actor_imitation")
loss_imitation = tf.reduce_mean(tf.squared_difference(a, A_I))
with tf.variable_scope("imitation_train"):
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        opt_i = tf.train.MomentumOptimizer(0.01, 0.9)
        i_grads = tf.gradients(ys=loss_imitation, xs=e_params, grad_ys=None)
        train_imitation = opt_i.apply_gradients(zip(i_grads, e_params))

print("None gradients:", [v.op.name for v, g in zip(e_params, i_grads) if g is None])
expert = rng.randn(4, 2)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(args.steps):
        s = rng.randn(64, 4)
        _, value = sess.run([train_imitation, loss_imitation],
                            feed_dict={S: s, A_I: np.tanh(s @ expert)})
        if step % 100 == 0:
            print(step, value)
print("final imitation loss", value)
