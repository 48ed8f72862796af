"""keras.io "Character-level text generation with LSTM" (fchollet): one LSTM(128) over 40
one-hot characters, a softmax Dense over the character set, categorical cross-entropy, RMSprop
at lr 0.01, batch 128, `model.fit(..., epochs=1)` once per epoch followed by sampling text.
"""
from tensorflow import keras
from tensorflow.keras import layers

import numpy as np
import random
import sys
import io
from _text_data import shakespeare_like

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/generative/lstm_character_level_text_generation/",
    "question": "A keras.io example: a character-level LSTM language model (healthy control).",
    "changes": ["Nietzsche's text (600,000 characters, a download) replaced by the first 40,000 "
                "characters of the bundled text (_text_data.py), lower-cased like the original "
                "(13,320 sequences, 105 steps an epoch)",
                "epochs=2 instead of 40; 40 generated characters per diversity instead of 400",
                "np.bool -> bool (removed from NumPy); keras.utils.set_random_seed(0); "
                "verbose=0 on fit"],
    "pair": None,
    "category": "healthy",
    "architecture": "RNN",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": ("trains: the loss goes from 3.03 (first 10% of the 210 steps; 3.81 = log 45 at step 0) to "
           "2.06 (last 10%), 0.70x the best constant (2.95, the entropy of the next-character "
           "frequencies); epoch losses 2.81, 2.29; every LSTM and Dense variable moves "
           "(|dw|/|w| 0.017-0.08 a step)"),
    "measured": {"loss_first": 3.81, "loss_start": 3.03, "loss_end": 2.06, "best_constant_loss": 2.95,
                 "loss_end_over_best_constant": 0.697,
                 "update_over_w_lstm_kernel": 0.0341},
}

keras.utils.set_random_seed(0)

text = shakespeare_like(40_000).lower()
print("corpus length:", len(text))

chars = sorted(list(set(text)))
print("total chars:", len(chars))
char_indices = dict((c, i) for i, c in enumerate(chars))
indices_char = dict((i, c) for i, c in enumerate(chars))

# cut the text in semi-redundant sequences of maxlen characters
maxlen = 40
step = 3
sentences = []
next_chars = []
for i in range(0, len(text) - maxlen, step):
    sentences.append(text[i : i + maxlen])
    next_chars.append(text[i + maxlen])
print("nb sequences:", len(sentences))

print("Vectorization...")
x = np.zeros((len(sentences), maxlen, len(chars)), dtype=bool)
y = np.zeros((len(sentences), len(chars)), dtype=bool)
for i, sentence in enumerate(sentences):
    for t, char in enumerate(sentence):
        x[i, t, char_indices[char]] = 1
    y[i, char_indices[next_chars[i]]] = 1


model = keras.Sequential(
    [
        keras.Input(shape=(maxlen, len(chars))),
        layers.LSTM(128),
        layers.Dense(len(chars), activation="softmax"),
    ]
)
optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
model.compile(loss="categorical_crossentropy", optimizer=optimizer)


def sample(preds, temperature=1.0):
    # helper function to sample an index from a probability array
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


epochs = 2
batch_size = 128

for epoch in range(epochs):
    h = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    print("epoch", epoch, "loss", round(h.history["loss"][0], 4))

    print("Generating text after epoch: %d" % epoch)

    start_index = random.randint(0, len(text) - maxlen - 1)
    for diversity in [0.2, 0.5, 1.0, 1.2]:
        print("----- diversity:", diversity)

        generated = ""
        sentence = text[start_index : start_index + maxlen]
        generated += sentence
        print('----- Generating with seed: "' + sentence + '"')
        sys.stdout.write(generated)

        for i in range(40):
            x_pred = np.zeros((1, maxlen, len(chars)))
            for t, char in enumerate(sentence):
                x_pred[0, t, char_indices[char]] = 1.0

            preds = model.predict(x_pred, verbose=0)[0]
            next_index = sample(preds, diversity)
            next_char = indices_char[next_index]

            sentence = sentence[1:] + next_char

            sys.stdout.write(next_char)
            sys.stdout.flush()
        print()
