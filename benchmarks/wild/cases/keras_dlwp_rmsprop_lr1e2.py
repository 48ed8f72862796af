"""Deep Learning with Python (3rd ed.), chapter 5, "Tuning key gradient descent parameters":
the notebook's second cell of that section: the same MNIST MLP (Dense(512, relu),
Dense(10, softmax)) as keras_dlwp_rmsprop_lr1, trained with RMSprop(learning_rate=1e-2)
instead of 1.0, the book's fix for the too-high rate.
"""
import keras
from keras import layers
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/"
              "chapter05_fundamentals-of-ml.ipynb",
    "question": "The same MNIST model with a more appropriate learning rate (RMSprop, "
                "learning_rate=1e-2)",
    "changes": ["MNIST (60,000 images /255) replaced by scikit-learn's 8x8 digits blown up to "
                "28x28 (1,797 images in [0, 1]), reshaped to 784 like the book",
                "the notebook's KERAS_BACKEND=jax not set (TensorFlow backend)",
                "keras.utils.set_random_seed(0); verbose=0 and one print"],
    "pair": "keras_dlwp_rmsprop_lr1",
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": ["dead_units", "loss_spike"],
    "root_cause": None,
    "why": "trains: the loss falls from 2.32 to 0.043 (0.019x the best constant 2.3, ~99% "
           "training accuracy) in 120 steps. RMSprop's first steps still overshoot (loss 16-21 "
           "at steps 1-4, back under 1 by step 8) and one batch late in the run jumps to 1.33 "
           "before falling back, and 66% of the 512 ReLU units end never positive over the "
           "last 20 steps (true of the run, not harmful here: allowed)",
    "measured": {"loss_start": 6.58, "loss_end": 0.0429, "loss_first": 2.32, "loss_max": 21.1,
                 "loss_end_over_best_constant": 0.0186, "dead_dense_end": 0.656,
                 "best_constant_loss": 2.3},
}

keras.utils.set_random_seed(0)

train_images, train_labels = mnist_like()
train_images = train_images.reshape((len(train_images), 28 * 28))
train_images = train_images.astype("float32")  # already in [0, 1], like the book's / 255

model = keras.Sequential(
    [
        layers.Dense(512, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-2),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    train_images, train_labels, epochs=10, batch_size=128, validation_split=0.2, verbose=0
)
print("loss", [round(v, 3) for v in history.history["loss"]])
print("accuracy", [round(v, 3) for v in history.history["accuracy"]])
