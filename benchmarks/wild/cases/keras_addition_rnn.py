"""keras.io "Sequence to sequence learning for performing number addition": LSTM encoder-decoder.

The example as published: questions like "123+45 " (reversed), one-hot over 12 characters,
LSTM(128) encoder, RepeatVector(4), LSTM(128, return_sequences=True) decoder, a softmax over
the characters per output position, categorical cross-entropy, Adam, batch 32. It generates its
own data (nothing to download).
"""
import keras
import numpy as np
from keras import layers

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/nlp/addition_rnn/",
    "question": "A well-known tutorial: an LSTM sequence-to-sequence model learning addition "
                "(healthy control).",
    "changes": ["4,000 generated questions instead of 50,000 and 3 epochs instead of 30 (the loss "
                "is still falling when it stops)",
                "the CharacterTable class written as two dicts; keras.utils.set_random_seed(0), "
                "numpy seeded"],
    "pair": None,
    "category": "healthy",
    "architecture": "RNN",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "a standard LSTM encoder-decoder with Adam at its default rate; in this short run it "
           "is still in the known early phase (the loss is 0.92x what predicting the character "
           "frequencies of each position gives and falling steadily; every layer updates at "
           "4e-4..5e-3 of its size per step)",
    "measured": {"loss_first": 2.48, "loss_start": 2.08, "loss_end": 1.66,
                 "best_constant_loss": 1.81, "loss_end_over_best_constant": 0.917,
                 "lstm_update_over_w_med": 0.00401},
}

keras.utils.set_random_seed(0)
np.random.seed(0)

TRAINING_SIZE = 4000
DIGITS = 3
REVERSE = True
MAXLEN = DIGITS + 1 + DIGITS
chars = "0123456789+ "
char_indices = {c: i for i, c in enumerate(chars)}


def encode(text, num_rows):
    x = np.zeros((num_rows, len(chars)))
    for i, c in enumerate(text):
        x[i, char_indices[c]] = 1
    return x


questions, expected, seen = [], [], set()
while len(questions) < TRAINING_SIZE:
    def f():
        return int("".join(np.random.choice(list("0123456789"))
                           for _ in range(np.random.randint(1, DIGITS + 1))))
    a, b = f(), f()
    key = tuple(sorted((a, b)))
    if key in seen:
        continue
    seen.add(key)
    q = "{}+{}".format(a, b)
    query = q + " " * (MAXLEN - len(q))
    ans = str(a + b)
    ans += " " * (DIGITS + 1 - len(ans))
    if REVERSE:
        query = query[::-1]
    questions.append(query)
    expected.append(ans)

x = np.array([encode(q, MAXLEN) for q in questions], dtype=bool)
y = np.array([encode(a, DIGITS + 1) for a in expected], dtype=bool)

model = keras.Sequential()
model.add(layers.Input((MAXLEN, len(chars))))
model.add(layers.LSTM(128))
model.add(layers.RepeatVector(DIGITS + 1))
model.add(layers.LSTM(128, return_sequences=True))
model.add(layers.Dense(len(chars), activation="softmax"))
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

history = model.fit(x, y, batch_size=32, epochs=3, validation_split=0.1, verbose=0)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
