"""A Keras ``fit`` under ``tf.distribute.MirroredStrategy`` over two logical CPU devices, or on
one device: ``python mirrored_job.py mirrored|single``. Three Dense layers drawn from N(0, 1e-3)
(seed 000/001's bug): the signal collapses ~1e-5x over the depth."""

import sys

import numpy as np
import tensorflow as tf  # first, as MirroredStrategy scripts usually do (keras then imports late)
import keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
mirrored = sys.argv[1] == "mirrored"
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if mirrored else tf.distribute.get_strategy()
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32"); y = (x[:, :1] * 2).astype("float32")
small = keras.initializers.RandomNormal(stddev=1e-3, seed=1)
with strategy.scope():
    model = keras.Sequential([keras.Input((8,)),
        keras.layers.Dense(16, activation="relu", kernel_initializer=small, name="d0"),
        keras.layers.Dense(16, activation="relu", kernel_initializer=small, name="d1"),
        keras.layers.Dense(1, kernel_initializer=small, name="out")], name="net")
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=0, shuffle=False)
print("replicas", strategy.num_replicas_in_sync, "loss", model.evaluate(x, y, verbose=0))
