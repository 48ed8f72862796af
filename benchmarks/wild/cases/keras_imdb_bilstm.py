"""keras.io "Bidirectional LSTM on IMDB": embedding, two bidirectional LSTM(64), sigmoid output.

The example as published: reviews as word indices (20,000-word vocabulary) padded to 200,
Embedding(20000, 128), Bidirectional(LSTM(64, return_sequences=True)),
Bidirectional(LSTM(64)), Dense(1, sigmoid), Adam, binary cross-entropy, batch 32.
"""
import keras
from keras import layers

from _wild_data import imdb_like

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/nlp/bidirectional_lstm_imdb/",
    "question": "A well-known tutorial: a bidirectional LSTM text classifier (healthy control).",
    "changes": ["the IMDB download replaced by 960 seeded synthetic reviews of 200 word indices "
                "(Zipf-like word frequencies; positive reviews use more words from one band of "
                "the vocabulary, negative from another)",
                "one epoch of 30 batches; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "RNN",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "a standard embedding + LSTM classifier with Adam at its default rate",
    "measured": {"loss_first": 0.692, "loss_start": 0.696, "loss_end": 0.0506,
                 "best_constant_loss": 0.691, "loss_end_over_best_constant": 0.0732},
}

keras.utils.set_random_seed(0)

max_features = 20000  # Only consider the top 20k words
maxlen = 200  # Only consider the first 200 words of each movie review

x_train, y_train = imdb_like(960, maxlen, max_features, seed=0)

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, 128)(inputs)
x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(64))(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
print("loss", round(history.history["loss"][-1], 4), "accuracy",
      round(history.history["accuracy"][-1], 4))
