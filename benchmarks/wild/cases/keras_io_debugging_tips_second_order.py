"""keras.io "Keras debugging tips" (fchollet), tip 3: a custom `train_step` that updates with
0.5 * (second-order "gradient") + 0.5 * (first-order gradient), a one-hidden-layer MNIST MLP,
SGD at 1e-2, batch 1024. The guide: "Oh no, it doesn't converge! Something is not working as
planned." The second-order term is `tape2.gradient(dl_dw, ...)`, the gradient of the sum of
all first-order gradient entries, used raw, unnormalized (the author's). Its pair
keras_io_debugging_tips_normalized_final is the guide's final, working version.
"""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/keras_recipes/debugging_tips/",
    "question": "Why does a custom train_step mixing first- and second-order gradients not "
                "converge? (the guide's deliberately failing version)",
    "changes": ["MNIST (a download by Keras's loader) replaced by scikit-learn's 8x8 digits blown "
                "up to 28x28 on MNIST's 0-255 scale, then / 255 like the guide (1,797 images: "
                "2 steps an epoch after validation_split=0.1)",
                "epochs=80 instead of 3, so the run has the original's ~160 optimizer steps "
                "(54,000 / 1024 x 3)",
                "keras.utils.set_random_seed(0); verbose=0 and one print; only the tip-3 "
                "program (the other tips' code is not training)"],
    "pair": "keras_io_debugging_tips_normalized_final",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []},
                 {"kind": "dead_units", "where": ["dense/kernel"]}],
    "allowed": ["exploding_gradient", "loss_diverging", "loss_spike", "stalled_weights"],
    "root_cause": None,
    "why": ("the raw second-order term (the gradient of the sum of all first-order gradient entries) "
           "is huge at step 0: the combined update has |g|/|w| = 8.3 (dense/kernel) and 70 "
           "(dense_1/kernel) against medians of 0.13 and 1.5, so the first steps throw the "
           "softmax far off: the loss goes from 2.34 at step 0 to a median of 16.4 over the first "
           "10% of the 160 steps (a plain rerun: 7.7, 12.8, 9.8, 11.6 after epochs 0-3), then "
           "sinks back to the constant-prediction level and stays there (end 2.46, 1.07x the best "
           "constant 2.30; min window 1.01x; validation accuracy 10%). The hidden ReLU layer dies "
           "progressively: 4% of its 256 units never positive at step 0, 81% at the end (the plain "
           "rerun: 26% after 2 steps, 57% after 34, 84% after 154), its output rms 0.34 -> 6e-4. "
           "The early blow-up is an exploding update / a loss jump that comes back only to the "
           "constant level: allowed as exploding_gradient, loss_diverging or loss_spike"),
    "measured": {"loss_first": 2.34, "loss_start": 16.4, "loss_end": 2.46, "best_constant_loss": 2.3,
                 "loss_end_over_best_constant": 1.07, "loss_min_window_over_best_constant": 1.01,
                 "g_over_w_step0_dense_1_kernel": 70.1, "g_over_w_med_dense_1_kernel": 1.48,
                 "g_over_w_step0_dense_kernel": 8.31, "dead_dense_step0": 0.043,
                 "dead_dense_end": 0.809, "hidden_rms_end": 0.000623},
}

keras.utils.set_random_seed(0)


class MyModel(keras.Model):
    def train_step(self, data):
        inputs, targets = data
        trainable_vars = self.trainable_variables
        with tf.GradientTape() as tape2:
            with tf.GradientTape() as tape1:
                preds = self(inputs, training=True)  # Forward pass
                # Compute the loss value
                # (the loss function is configured in `compile()`)
                loss = self.compiled_loss(targets, preds)
            # Compute first-order gradients
            dl_dw = tape1.gradient(loss, trainable_vars)
        # Compute second-order gradients
        d2l_dw2 = tape2.gradient(dl_dw, trainable_vars)

        # Combine first-order and second-order gradients
        grads = [0.5 * w1 + 0.5 * w2 for (w1, w2) in zip(d2l_dw2, dl_dw)]

        # Update weights
        self.optimizer.apply_gradients(zip(grads, trainable_vars))

        # Update metrics (includes the metric that tracks the loss)
        self.compiled_metrics.update_state(targets, preds)
        # Return a dict mapping metric names to current value
        return {m.name: m.result() for m in self.metrics}


# Construct an instance of MyModel
def get_model():
    inputs = keras.Input(shape=(784,))
    intermediate = layers.Dense(256, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax")(intermediate)
    model = MyModel(inputs, outputs)
    return model


# Prepare data
images, y_train = mnist_like()
x_train = np.round(images * 255).astype(np.uint8)
x_train = np.reshape(x_train, (-1, 784)) / 255

model = get_model()
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=1e-2),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, epochs=80, batch_size=1024, validation_split=0.1,
                    verbose=0)
print("accuracy", [round(v, 3) for v in history.history["accuracy"][::8]])
print("val_loss", [round(v, 3) for v in history.history["val_loss"][::8]])
