"""Conformance driver (TF1 graph, ``tf.Session``): the same as torch_mlp.py."""
import hashlib, json, sys, time
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()
out, steps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40
slow = float(sys.argv[sys.argv.index("--slow") + 1]) if "--slow" in sys.argv else 0.0
tf.set_random_seed(0)
rng = np.random.default_rng(0)
x = tf.placeholder(tf.float32, [None, 8])
y = tf.placeholder(tf.int64, [None])
W1 = tf.get_variable("W1", [8, 128], initializer=tf.glorot_uniform_initializer())
b1 = tf.get_variable("b1", [128], initializer=tf.zeros_initializer())
W2 = tf.get_variable("W2", [128, 64], initializer=tf.glorot_uniform_initializer())
W3 = tf.get_variable("W3", [64, 3], initializer=tf.glorot_uniform_initializer())
noisy = x + 0.01 * tf.random_normal(tf.shape(x))
h = tf.nn.tanh(tf.matmul(tf.nn.relu(tf.matmul(noisy, W1) + b1), W2))
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                     logits=tf.matmul(h, W3)))
opt = tf.train.MomentumOptimizer(0.05, 0.9)
variables = [W1, b1, W2, W3]
gv = opt.compute_gradients(loss, variables)
train = opt.apply_gradients(gv)
log = []
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(steps):
        feed = {x: rng.standard_normal((32, 8)), y: rng.integers(0, 3, 32)}
        before = sess.run(variables)
        _, value, grads = sess.run([train, loss, [g for g, _ in gv]], feed_dict=feed)
        after = sess.run(variables)
        log.append({"loss": float(value), "stats": {
            v.op.name: [float(np.linalg.norm(np.float64(g))), float(np.linalg.norm(np.float64(a))),
                        float(np.linalg.norm(np.float64(a) - np.float64(b)))]
            for v, g, b, a in zip(variables, grads, before, after)}})
        print("step", step, flush=True)
        time.sleep(slow)
    digest = hashlib.sha256(b"".join(np.asarray(v).tobytes() for v in sess.run(variables)))
    rng_after = sess.run(tf.random_normal([4]))
json.dump({"log": log, "weights": digest.hexdigest(),
           "rng": hashlib.sha256(np.asarray(rng_after).tobytes()).hexdigest()}, open(out, "w"))
