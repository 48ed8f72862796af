"""keras.io guide "Customizing what happens in fit() with TensorFlow", end-to-end GAN example
(fchollet): conv discriminator (LeakyReLU, GlobalMaxPooling2D, Dense(1) logit), generator
Dense(7*7*128) + two Conv2DTranspose + Conv2D(1, 7x7, sigmoid); a GAN(keras.Model) whose
train_step updates the discriminator (labels noised by 0.05*U) then the generator (misleading
labels) with two Adam(3e-4) optimizers and BinaryCrossentropy(from_logits=True).
Source: https://keras.io/guides/custom_train_step_in_tensorflow/
Changes: MNIST (70,000 images /255) replaced by scikit-learn's 8x8 digits blown up to 28x28
(1,797 images, 29 batches of 64); gan.fit(dataset.take(100), epochs=1) becomes epochs=3 over
the 29 batches (87 steps of each optimizer); keras.utils.set_random_seed(0).
"""
import keras
import numpy as np
import tensorflow as tf
from keras import layers
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": 'https://keras.io/guides/custom_train_step_in_tensorflow/',
    "question": "keras.io's guide to customizing fit(): an end-to-end GAN whose train_step updates the discriminator, then the generator",
    "changes": ["MNIST (70,000 images /255) replaced by scikit-learn's 8x8 digits blown up to 28x28 (1,797 images, 29 batches of 64); gan.fit(dataset.take(100), epochs=1) becomes epochs=3 over the 29 batches (87 steps of each optimizer); keras.utils.set_random_seed(0)."],
    "pair": None,
    "category": "healthy",
    "architecture": 'GAN',
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "a two-player game: the discriminator's loss 0.68 -> 0.52 (chance 0.69), the generator's 0.75 -> 1.04, no NaN; every update at most 2e-3 of its weight; neither loss is meant to fall to zero",
    "measured": {"loss_start": 0.676, "loss_end": 0.519, "best_constant_loss": 0.692,
                 "loss_end_over_best_constant": 0.75},
}

keras.utils.set_random_seed(0)

discriminator = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1),
    ],
    name="discriminator",
)

latent_dim = 128

generator = keras.Sequential(
    [
        keras.Input(shape=(latent_dim,)),
        # We want to generate 128 coefficients to reshape into a 7x7x128 map
        layers.Dense(7 * 7 * 128),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Reshape((7, 7, 128)),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
    ],
    name="generator",
)


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.seed_generator = keras.random.SeedGenerator(1337)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        # Sample random points in the latent space
        batch_size = tf.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )

        # Decode them to fake images
        generated_images = self.generator(random_latent_vectors)

        # Combine them with real images
        combined_images = tf.concat([generated_images, real_images], axis=0)

        # Assemble labels discriminating real from fake images
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)

        # Add random noise to the labels - important trick!
        labels += 0.05 * keras.random.uniform(tf.shape(labels), seed=self.seed_generator)

        # Train the discriminator
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # Sample random points in the latent space
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )

        # Assemble labels that say "all real images"
        misleading_labels = tf.zeros((batch_size, 1))

        # Train the generator (note that we should *not* update the weights
        # of the discriminator)!
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        # Update metrics and return their value.
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {
            "d_loss": self.d_loss_tracker.result(),
            "g_loss": self.g_loss_tracker.result(),
        }


# Prepare the dataset. We use both the training & test MNIST digits.
batch_size = 64
images, _ = mnist_like()
all_digits = np.reshape(images.astype("float32"), (-1, 28, 28, 1))
dataset = tf.data.Dataset.from_tensor_slices(all_digits)
dataset = dataset.shuffle(buffer_size=1024, seed=0).batch(batch_size)

gan = GAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
gan.compile(
    d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
    g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
    loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
)

# To limit the execution time, we only train on 100 batches. You can train on
# the entire dataset. You will need about 20 epochs to get nice results.
history = gan.fit(dataset.take(100), epochs=3, verbose=0)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
