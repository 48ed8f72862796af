"""TensorFlow's "Basic classification" tutorial: Flatten, Dense(128, relu), Dense(10) logits.

The tutorial as published (Fashion-MNIST): 28x28 images scaled to [0, 1], a 128-unit ReLU
layer, 10 logits, Adam, sparse categorical cross-entropy from logits, 10 epochs.
"""
import keras
import tensorflow as tf
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://www.tensorflow.org/tutorials/keras/classification",
    "question": "A well-known tutorial: an MLP image classifier (healthy control).",
    "changes": ["Fashion-MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (1,797 "
                "images, scaled to [0, 1] like train_images / 255.0)",
                "tf.keras -> keras (Keras 3), an Input layer instead of Flatten(input_shape); "
                "keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "MLP",
    "fast": True,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "a standard MLP with Adam at its default rate",
    "measured": {"loss_first": 2.59, "loss_start": 0.589, "loss_end": 0.0381,
                 "best_constant_loss": 2.3, "loss_end_over_best_constant": 0.0166},
}

keras.utils.set_random_seed(0)

train_images, train_labels = mnist_like()

model = tf.keras.Sequential([
    tf.keras.Input(shape=(28, 28)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10)
])

model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])

history = model.fit(train_images, train_labels, epochs=10, verbose=0)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
