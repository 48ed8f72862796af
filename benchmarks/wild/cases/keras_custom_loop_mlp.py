"""keras.io "Writing a training loop from scratch in TensorFlow": tf.function GradientTape step.

The guide's MNIST model (784 -> Dense(64, relu) -> Dense(64, relu) -> 10 logits) trained by its
compiled ``train_step`` (``tf.GradientTape``, ``optimizer.apply``) with Adam(1e-3), sparse
categorical cross-entropy from logits, batches of 32 from a shuffled ``tf.data`` pipeline, raw
0-255 pixels as in the guide, a validation pass after each epoch.
"""
import keras
import numpy as np
import tensorflow as tf
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/guides/writing_a_custom_training_loop_in_tensorflow/",
    "question": "A well-known tutorial: a custom tf.function GradientTape training loop (healthy "
                "control).",
    "changes": ["MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28, as raw 0-255 "
                "pixels like the guide's unscaled mnist.load_data(); 297 kept for validation",
                "keras_core -> keras (Keras 3); 3 epochs; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "a standard MLP with Adam at 1e-3",
    "measured": {"loss_first": 198.0, "loss_start": 31.7, "loss_end": 1.12,
                 "best_constant_loss": 2.3, "loss_end_over_best_constant": 0.488},
}

keras.utils.set_random_seed(0)


def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


model = get_model()
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
val_acc_metric = keras.metrics.SparseCategoricalAccuracy()

batch_size = 32
images, labels = mnist_like()
x_train = np.reshape(np.round(images * 255), (-1, 784)).astype("float32")
y_train = labels
x_val, y_val = x_train[-297:], y_train[-297:]
x_train, y_train = x_train[:-297], y_train[:-297]

train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
train_dataset = train_dataset.shuffle(buffer_size=1024).batch(batch_size)
val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val))
val_dataset = val_dataset.batch(batch_size)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss_value = loss_fn(y, logits)
    grads = tape.gradient(loss_value, model.trainable_weights)
    optimizer.apply(grads, model.trainable_weights)
    train_acc_metric.update_state(y, logits)
    return loss_value


@tf.function
def test_step(x, y):
    val_logits = model(x, training=False)
    val_acc_metric.update_state(y, val_logits)


epochs = 3
for epoch in range(epochs):
    for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
        loss_value = train_step(x_batch_train, y_batch_train)
        if step % 20 == 0:
            print(f"Training loss (for 1 batch) at step {step}: {float(loss_value):.4f}")
    train_acc = train_acc_metric.result()
    print(f"Training acc over epoch: {float(train_acc):.4f}")
    train_acc_metric.reset_state()
    for x_batch_val, y_batch_val in val_dataset:
        test_step(x_batch_val, y_batch_val)
    val_acc = val_acc_metric.result()
    val_acc_metric.reset_state()
    print(f"Validation acc: {float(val_acc):.4f}")
