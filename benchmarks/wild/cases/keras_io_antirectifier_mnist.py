"""keras.io "Simple custom layer example: Antirectifier" (fchollet): an MNIST MLP whose hidden
nonlinearity is a custom layer that centers its input, splits it into relu(x) and relu(-x),
concatenates them and mixes them back with its own he_normal kernel.

The example as published: Dense(256), Antirectifier, Dense(256), Antirectifier, Dropout(0.5),
Dense(10) logits, sparse categorical cross-entropy from logits, RMSprop at its default rate,
batch 128, 20 epochs, validation_split=0.15.
"""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/keras_recipes/antirectifier/",
    "question": "A keras.io example: a custom Antirectifier layer in an MNIST MLP (healthy "
                "control).",
    "changes": ["MNIST (a download by Keras's loader) replaced by scikit-learn's 8x8 digits blown "
                "up to 28x28 and put on MNIST's 0-255 scale (1,797 images, so 12 steps an "
                "epoch); the test set and model.evaluate dropped",
                "keras.utils.set_random_seed(0); verbose=0 and one print"],
    "pair": None,
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": ["loss_spike"],
    "root_cause": None,
    "why": ("trains: the loss goes from 0.446 (first 10% of the 240 steps; 2.56 at step 0) to 0.0041 "
           "(last 10%), 0.0018x the best constant (2.30); validation accuracy 85% -> 94%. RMSprop "
           "(no momentum, lr 1e-3) makes the loss jump from a running level of ~0.02-0.1 to 1-4 for "
           "3-5 steps and come back, six times (a plain graph-mode rerun's per-batch losses: e.g. "
           "steps 141-143 at 2.46, 4.11, 3.08 with the median of steps 24-239 at 0.034; epoch "
           "means 0.087 -> 0.62 -> 0.045, 0.027 -> 0.93 -> 0.10): true of the run and recovered "
           "each time, so loss_spike is allowed"),
    "measured": {"loss_first": 2.56, "loss_start": 0.446, "loss_end": 0.00406, "best_constant_loss": 2.3,
                 "loss_end_over_best_constant": 0.00176, "loss_max": 5.42,
                 "plain_rerun_spike_step142": 4.11, "plain_rerun_median_steps24_239": 0.0341},
}

keras.utils.set_random_seed(0)


class Antirectifier(layers.Layer):
    def __init__(self, initializer="he_normal", **kwargs):
        super(Antirectifier, self).__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        output_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(output_dim * 2, output_dim),
            initializer=self.initializer,
            name="kernel",
            trainable=True,
        )

    def call(self, inputs):
        inputs -= tf.reduce_mean(inputs, axis=-1, keepdims=True)
        pos = tf.nn.relu(inputs)
        neg = tf.nn.relu(-inputs)
        concatenated = tf.concat([pos, neg], axis=-1)
        mixed = tf.matmul(concatenated, self.kernel)
        return mixed

    def get_config(self):
        # Implement get_config to enable serialization. This is optional.
        base_config = super(Antirectifier, self).get_config()
        config = {"initializer": keras.initializers.serialize(self.initializer)}
        return dict(list(base_config.items()) + list(config.items()))


# Training parameters
batch_size = 128
num_classes = 10
epochs = 20

images, y_train = mnist_like()
x_train = np.round(images * 255).astype(np.uint8)

x_train = x_train.reshape(-1, 784)
x_train = x_train.astype("float32")
x_train /= 255
print(x_train.shape[0], "train samples")

# Build the model
model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(256),
        Antirectifier(),
        layers.Dense(256),
        Antirectifier(),
        layers.Dropout(0.5),
        layers.Dense(10),
    ]
)

# Compile the model
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)

# Train the model
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                    validation_split=0.15, verbose=0)
print("loss", [round(v, 4) for v in history.history["loss"]])
print("val_accuracy", [round(v, 3) for v in history.history["val_sparse_categorical_accuracy"]])
