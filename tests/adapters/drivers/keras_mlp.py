"""Conformance driver (Keras 3, custom ``tf.function`` loop): the same as torch_mlp.py."""
import hashlib, json, sys, time
import keras, numpy as np, tensorflow as tf

out, steps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40
slow = float(sys.argv[sys.argv.index("--slow") + 1]) if "--slow" in sys.argv else 0.0
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dense(64, activation="tanh"), keras.layers.Dense(3)])
variables = model.trainable_variables
opt = keras.optimizers.SGD(0.05, momentum=0.9)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
rng = np.random.default_rng(0)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x + 0.01 * tf.random.normal(tf.shape(x)), training=True))
    grads = tape.gradient(loss, variables)
    opt.apply_gradients(zip(grads, variables))
    return loss, grads


log = []
for step in range(steps):
    x = rng.standard_normal((32, 8)).astype("float32")
    y = rng.integers(0, 3, 32)
    before = [v.numpy().astype(np.float64) for v in variables]
    loss, grads = train_step(x, y)
    after = [v.numpy().astype(np.float64) for v in variables]
    log.append({"loss": float(loss), "stats": {
        v.path: [float(np.linalg.norm(g.numpy().astype(np.float64))), float(np.linalg.norm(a)),
                 float(np.linalg.norm(a - b))] for v, g, b, a in zip(variables, grads, before, after)}})
    print("step", step, flush=True)
    time.sleep(slow)
digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in variables))
json.dump({"log": log, "weights": digest.hexdigest(),
           "rng": hashlib.sha256(tf.random.normal([4]).numpy().tobytes()).hexdigest()},
          open(out, "w"))
