"""An "illustrative" autoencoder (encoding dimension = input dimension, 100) trained to copy
uniform random inputs with binary cross-entropy: its poster asks why the loss never reaches 0.

Cross Validated question 441750 ("Why can't this autoencoder reach zero loss?"): 30,000 x 100
samples of numpy.random.rand, five ReLU Dense(100) layers and a sigmoid output, Adam, binary
cross-entropy. The answer: with targets strictly inside (0, 1) binary cross-entropy is bounded
below by the targets' own entropy, so a perfect copy still has a loss of about 0.5.
"""
import numpy
from keras.layers import Dense, Input
from keras.models import Model
import keras

LABEL = {
    "framework": "keras",
    "source": "https://stats.stackexchange.com/questions/441750",
    "question": "Why can't this autoencoder, asked to copy its own random inputs, reach zero "
                "loss?",
    "changes": ["3,000 samples instead of 30,000; EPOCHS = 25 and BATCH_SIZE = 100 (the post "
                "names the constants without values)", "keras.utils.set_random_seed(0) and "
                "numpy.random.seed(0); a print"],
    "pair": None,
    "category": "confounder",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "targets strictly inside (0, 1) put a floor under binary cross-entropy: the mean "
           "entropy of a uniform target, 0.5 nats, is the loss of a perfect copy, and a "
           "constant 0.5 gives 0.693. The loss falls in every one of the 25 epochs (0.692 -> "
           "0.611, 43% of the way from the best constant to the floor, still falling), no "
           "sigmoid output saturates and the ReLU layers keep 69-83% of their units alive "
           "(11-20% never positive at step 0, 17-31% at the end): it trains; only the floor "
           "is not 0",
    "measured": {"loss_start": 0.688, "loss_end": 0.612, "best_constant_loss": 0.693,
                 "loss_end_over_best_constant": 0.882, "dead_dense_3_end": 0.31,
                 "sat_output_end": 0.0},
}

keras.utils.set_random_seed(0)
numpy.random.seed(0)
EPOCHS = 25
BATCH_SIZE = 100

x_rand = numpy.random.rand(3000, 100)
# this is the size of our encoded representations
encoding_dim = 100

inputs = Input(shape=x_rand.shape[1:])

encoded = Dense(100, activation='relu')(inputs)
encoded = Dense(100, activation='relu')(encoded)

encoded = Dense(encoding_dim, activation='relu')(encoded)

decoded = Dense(100, activation='relu')(encoded)
decoded = Dense(100, activation='relu')(decoded)
decoded = Dense(x_rand.shape[-1], activation='sigmoid')(decoded)

# this model maps an input to its reconstruction
autoencoder = Model(inputs, decoded)

autoencoder.compile(optimizer='adam', loss='binary_crossentropy')
history = autoencoder.fit(x_rand, x_rand, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
print("loss", [round(v, 4) for v in history.history["loss"]])
