"""Cross Validated 372762 ("Why normalize when all features are on the same scale?"): the
TensorFlow "Basic classification" tutorial of 2018 run without `train_images / 255.0`.

The poster: "I went ahead and ran it with normalization, and get an accuracy of over 85%,
whereas no normalization, my accuracy falls to 10%." The tutorial of the time: Flatten,
Dense(128, relu), Dense(10, softmax), Adam, sparse categorical cross-entropy, 5 epochs; its pair
keras_cv372762_scaled_pixels is the same program with the division by 255 kept.
"""
import keras
import numpy as np
import tensorflow as tf
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://stats.stackexchange.com/questions/372762",
    "question": "Why does the TensorFlow Fashion-MNIST tutorial fall to 10% accuracy when I skip "
                "dividing the pixels by 255?",
    "changes": ["Fashion-MNIST (60,000 uint8 images, 0-255) replaced by scikit-learn's 8x8 "
                "digits blown up to 28x28 and put back on MNIST's 0-255 uint8 scale (1,797 "
                "images)",
                "the 2018 tutorial's code (tensorflow/docs site/en/tutorials/keras/"
                "basic_classification.ipynb) with tf.keras -> keras (Keras 3), an Input layer "
                "instead of Flatten(input_shape), activation='relu'/'softmax' for tf.nn.relu/"
                "tf.nn.softmax",
                "epochs=20 instead of 5 (the data is 33x smaller: 57 steps an epoch)",
                "keras.utils.set_random_seed(0); verbose=0 and one print"],
    "pair": "keras_cv372762_scaled_pixels",
    "category": "confounder",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": ["dead_units", "loss_spike"],
    "root_cause": None,
    "why": "looks broken, trains: with 0-255 inputs the first loss is 226 and |g|/|w| is 60-76 "
           "in every layer at step 0, but Adam's normalized steps (|dw|/|w| ~1e-3) bring the "
           "loss to 3.5 in the first 10% of the run and to ~0 at the end (training accuracy "
           "99.5%; the poster's 10% does not reproduce on the bundled digits). Its logits are "
           "huge, so single batches still jump to 2-7 throughout while the median batch loss "
           "is <1e-4 from epoch 11 on, and 33% of the 128 ReLU units end never positive "
           "(both true of the run: allowed)",
    "measured": {"loss_start": 3.48, "loss_end": 0.0, "loss_first": 226.0,
                 "loss_end_over_best_constant": 0.0, "g_over_w_dense_step0": 60.0,
                 "update_over_w_dense": 0.00136, "dead_dense_end": 0.328,
                 "best_constant_loss": 2.3},
}

keras.utils.set_random_seed(0)

images, train_labels = mnist_like()
train_images = np.round(images * 255).astype(np.uint8)  # pixel values between 0 and 255

# the poster's change: no `train_images = train_images / 255.0`

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
