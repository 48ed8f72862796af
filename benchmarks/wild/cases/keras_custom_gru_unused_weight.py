"""Keras custom GRU cell with a weight it never uses: "Gradients do not exist for ['interim']".

tensorflow/probability issue 927: a GRU cell written by hand (reset/update gates and candidate
from ``add_weight``) plus an extra ``interim`` weight that ``call`` never touches, inside
``keras.layers.RNN`` in a subclassed regression model trained with ``fit``. Keras warns that
``interim`` gets no gradient; the poster confirmed it stayed the same while every other weight
changed.
"""
import keras
import numpy as np
import tensorflow as tf

LABEL = {
    "framework": "keras",
    "source": "https://github.com/tensorflow/probability/issues/927",
    "question": "Why do gradients not exist for the 'interim' variable of my custom GRU cell?",
    "changes": ["keras.layers.AbstractRNNCell (gone in Keras 3) replaced by keras.layers.Layer "
                "with the same state_size property and call(inputs, states)",
                "the poster's series replaced by seeded noisy sine windows (20 steps, 1 feature, "
                "predict the next value); 32 units, Adam, mse, 4 epochs of batch 32",
                "the shape of 'interim' and the candidate's weights are not in the post (units x "
                "units, 'uniform' like the gates)",
                "keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "positive",
    "architecture": "RNN",
    "fast": False,
    "expected": [{"kind": "no_gradient", "where": ["regression/rnn/my_gru/interim"]}],
    "allowed": [],
    "root_cause": "no_gradient",
    "why": "the cell creates 'interim' with add_weight but call() never uses it: no path from it "
           "to the loss, a None gradient at every step",
    "measured": {"loss_first": 0.712, "loss_start": 0.376, "loss_end": 0.00378,
                 "best_constant_loss": 0.624, "loss_end_over_best_constant": 0.00606,
                 "interim_update_norm": 0.0},
}

keras.utils.set_random_seed(0)


class myGRU(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        self.units = units
        super(myGRU, self).__init__(**kwargs)

    @property
    def state_size(self):
        return self.units

    def build(self, input_shape):
        self.dim = input_shape[-1]
        self.w_r = self.add_weight(shape=[self.dim + self.units, self.units],
                                   initializer='uniform', name='reset_gate', trainable=True)
        self.b_r = self.add_weight(shape=[self.units], initializer='zeros',
                                   name='reset_gate_bias', trainable=True)
        self.w_z = self.add_weight(shape=[self.dim + self.units, self.units],
                                   initializer='uniform', name='update_gate', trainable=True)
        self.b_z = self.add_weight(shape=[self.units], initializer='zeros',
                                   name='update_gate_bias', trainable=True)
        self.w_h = self.add_weight(shape=[self.dim + self.units, self.units],
                                   initializer='uniform', name='candidate', trainable=True)
        self.b_h = self.add_weight(shape=[self.units], initializer='zeros',
                                   name='candidate_bias', trainable=True)
        self.interim = self.add_weight(shape=[self.units, self.units], initializer='uniform',
                                       name='interim', trainable=True)
        self.built = True

    def call(self, inputs, states):
        h = states[0]
        xh = tf.concat([inputs, h], axis=-1)
        r = tf.sigmoid(tf.matmul(xh, self.w_r) + self.b_r)
        z = tf.sigmoid(tf.matmul(xh, self.w_z) + self.b_z)
        h_tilde = tf.tanh(tf.matmul(tf.concat([inputs, r * h], axis=-1), self.w_h) + self.b_h)
        h_new = z * h + (1 - z) * h_tilde
        return h_new, [h_new]


class Regression(keras.models.Model):
    def __init__(self, units):
        super(Regression, self).__init__(name="regression")
        self.rnn = keras.layers.RNN(myGRU(units, name="my_gru"), name="rnn")
        self.out = keras.layers.Dense(1, name="out")

    def call(self, x):
        return self.out(self.rnn(x))


rng = np.random.default_rng(0)
t = np.arange(3000) * 0.1
series = np.sin(t) + 0.5 * np.sin(0.31 * t) + 0.05 * rng.standard_normal(len(t))
X = np.stack([series[i:i + 20] for i in range(len(series) - 21)])[..., None].astype("float32")
y = series[20:len(series) - 1, None].astype("float32")

model = Regression(32)
model.compile(optimizer='adam', loss='mse')
history = model.fit(X, y, batch_size=32, epochs=4, verbose=0)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
