"""Cross Validated 372762 ("Why normalize when all features are on the same scale?"): the
TensorFlow "Basic classification" tutorial of 2018 as published, with `train_images / 255.0`.

The poster: "I went ahead and ran it with normalization, and get an accuracy of over 85%,
whereas no normalization, my accuracy falls to 10%." The tutorial of the time: Flatten,
Dense(128, relu), Dense(10, softmax), Adam, sparse categorical cross-entropy, 5 epochs; its pair
keras_cv372762_unscaled_pixels is the poster's run without the division.
"""
import keras
import numpy as np
import tensorflow as tf
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://stats.stackexchange.com/questions/372762",
    "question": "The TensorFlow Fashion-MNIST tutorial of 2018 with its pixels divided by "
                "255, which the poster says reaches over 85%",
    "changes": ["Fashion-MNIST (60,000 uint8 images, 0-255) replaced by scikit-learn's 8x8 "
                "digits blown up to 28x28 and put back on MNIST's 0-255 uint8 scale (1,797 "
                "images)",
                "the 2018 tutorial's code (tensorflow/docs site/en/tutorials/keras/"
                "basic_classification.ipynb) with tf.keras -> keras (Keras 3), an Input layer "
                "instead of Flatten(input_shape), activation='relu'/'softmax' for tf.nn.relu/"
                "tf.nn.softmax",
                "epochs=20 instead of 5 (the data is 33x smaller: 57 steps an epoch)",
                "keras.utils.set_random_seed(0); verbose=0 and one print"],
    "pair": "keras_cv372762_unscaled_pixels",
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "the tutorial's MLP with Adam at its default rate: the loss falls smoothly from 2.59 "
           "to 0.012 (0.005x the best constant)",
    "measured": {"loss_start": 0.327, "loss_end": 0.0119, "loss_first": 2.59,
                 "loss_end_over_best_constant": 0.00518, "dead_dense_end": 0.203,
                 "best_constant_loss": 2.3},
}

keras.utils.set_random_seed(0)

images, train_labels = mnist_like()
train_images = np.round(images * 255).astype(np.uint8)  # pixel values between 0 and 255

train_images = train_images / 255.0

model = keras.Sequential([
    keras.Input(shape=(28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation='relu'),
    keras.layers.Dense(10, activation='softmax')
])

model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

history = model.fit(train_images, train_labels, epochs=20, verbose=0)
print("loss", [round(v, 4) for v in history.history["loss"]])
print("accuracy", [round(v, 3) for v in history.history["accuracy"]])
