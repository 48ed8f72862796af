"""TensorFlow tutorial "Custom training: walkthrough" (penguin classification): Sequential
Dense(10, relu), Dense(10, relu), Dense(3) logits; SparseCategoricalCrossentropy(from_logits=True);
a hand-written tf.GradientTape loop (grad() + optimizer.apply_gradients) with SGD(0.01), 201
epochs over batches of 32, Mean / SparseCategoricalAccuracy metrics per epoch.
Source: https://www.tensorflow.org/tutorials/customization/custom_training_walkthrough
Changes: the penguins_processed TFDS split (4 features scaled to [0, 1], 3 species) replaced
by scikit-learn's bundled iris (4 features min-max scaled to [0, 1], 3 species, 150 rows,
shuffled); input_shape written as an Input layer; keras.utils.set_random_seed(0).
"""
import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_iris

LABEL = {
    "framework": "keras",
    "source": 'https://www.tensorflow.org/tutorials/customization/custom_training_walkthrough',
    "question": "TensorFlow's custom training walkthrough: a hand-written GradientTape loop with SGD on a small classifier",
    "changes": ["the penguins_processed TFDS split (4 features scaled to [0, 1], 3 species) replaced by scikit-learn's bundled iris (4 features min-max scaled to [0, 1], 3 species, 150 rows, shuffled); input_shape written as an Input layer; keras.utils.set_random_seed(0)."],
    "pair": None,
    "category": "healthy",
    "architecture": 'MLP',
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "the loss falls from 1.09 to 0.355 against the best constant's 1.10 (0.32x) over 1,005 SGD steps",
    "measured": {"loss_start": 1.09, "loss_end": 0.355, "best_constant_loss": 1.1,
                 "loss_end_over_best_constant": 0.324},
}

keras.utils.set_random_seed(0)

iris = load_iris()
features = iris.data.astype("float32")
features = (features - features.min(0)) / (features.max(0) - features.min(0))
labels = iris.target.astype("int64")
ds_train_batch = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(150, seed=0).batch(32)

model = tf.keras.Sequential([
    tf.keras.layers.Input(shape=(4,)),
    tf.keras.layers.Dense(10, activation=tf.nn.relu),
    tf.keras.layers.Dense(10, activation=tf.nn.relu),
    tf.keras.layers.Dense(3),
])

loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def loss(model, x, y, training):
    # training=training is needed only if there are layers with different
    # behavior during training versus inference (e.g. Dropout).
    y_ = model(x, training=training)
    return loss_object(y_true=y, y_pred=y_)


def grad(model, inputs, targets):
    with tf.GradientTape() as tape:
        loss_value = loss(model, inputs, targets, training=True)
    return loss_value, tape.gradient(loss_value, model.trainable_variables)


optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)

train_loss_results = []
train_accuracy_results = []

num_epochs = 201

for epoch in range(num_epochs):
    epoch_loss_avg = tf.keras.metrics.Mean()
    epoch_accuracy = tf.keras.metrics.SparseCategoricalAccuracy()

    # Training loop - using batches of 32
    for x, y in ds_train_batch:
        # Optimize the model
        loss_value, grads = grad(model, x, y)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

        # Track progress
        epoch_loss_avg.update_state(loss_value)  # Add current batch loss
        # Compare predicted label to actual label
        # training=True is needed only if there are layers with different
        # behavior during training versus inference (e.g. Dropout).
        epoch_accuracy.update_state(y, model(x, training=True))

    # End epoch
    train_loss_results.append(epoch_loss_avg.result())
    train_accuracy_results.append(epoch_accuracy.result())

    if epoch % 50 == 0:
        print("Epoch {:03d}: Loss: {:.3f}, Accuracy: {:.3%}".format(
            epoch, epoch_loss_avg.result(), epoch_accuracy.result()))
