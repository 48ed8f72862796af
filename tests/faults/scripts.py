"""The training scripts the fault rows break. Each is small (a tiny MLP on fixed data); those
that run long print ``step N`` after every optimizer step, so a test knows how far training
got."""

# A tiny regression MLP, its optimizer and one fixed batch: what every torch script here trains.
MLP = """\
import os
import random
import sys
import time

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)


def train_step(step):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    if step == NAN_AT:
        loss = loss * float("nan")
    loss.backward()
    opt.step()
    return loss
"""


def mlp(body: str, nan_at: int = -1) -> str:
    return MLP.replace("NAN_AT", str(nan_at)) + body

# Steps of 5, 20 or 60 ms at random (seeded by argv[1]) and, every 50 steps, a 1.5 s pause (an
# evaluation, a checkpoint): the rows of the steps before a pause must reach the disk during
# the pause, not at the next step. argv[2], if given: os._exit(0) after that many steps.
SLOW = mlp("""\
rng = random.Random(int(sys.argv[1]))
exit_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
started = time.monotonic()
for step in range(100_000):
    train_step(step)
    print(f"step {step}", flush=True)
    if exit_after is not None and step + 1 == exit_after:
        os._exit(0)
    if time.monotonic() - started > 150:  # a test that died cannot leave this running
        sys.exit(99)
    time.sleep(1.5 if step % 50 == 49 else rng.choice([0.005, 0.02, 0.06]))
""")

# 30 steps, prints its own result, then exits with status 3: the script's result must win
# over anything that goes wrong with gradsight's outputs.
def exit_3(steps: int = 30) -> str:
    return mlp(f"""\
for step in range({steps}):
    loss = train_step(step)
print("script result", round(loss.item(), 6))
sys.exit(3)
""")


# A module whose name sets the terminal title, clears the screen, recolours, and carries DEL,
# a one-byte C1 CSI, a bidi override and mathtext dollars; it is never used (no_gradient), so
# its name appears in the finding's summary, where, evidence and fixes.
EVIL = "evil\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31m\\x7f\\x9b\\u202e$x^2$"
HOSTILE = """\
import torch
from torch import nn

EVIL = "%s"
torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 8)
        setattr(self, EVIL, nn.Linear(8, 8))
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        getattr(self, EVIL)(x.new_zeros(x.shape[0], 8))  # output dropped: no gradient
        return self.out(torch.relu(self.first(x)))


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
for step in range(20):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
""" % EVIL

# The first non-finite loss at step 21 (a NaN multiplied in), then 279 more steps.
NAN_AT_21 = mlp("""\
for step in range(300):
    train_step(step)
""", nan_at=21)

# Keras fit; a callback poisons the last kernel before batch 21, so the loss is NaN from there.
KERAS_NAN_AT_21 = """\
import numpy as np
import keras

keras.utils.set_random_seed(0)
x = np.random.randn(64 * 300, 4).astype("float32")
y = x.sum(1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1)])


class Poison(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if batch == 21:
            kernel = self.model.layers[-1].kernel
            kernel.assign(kernel * np.float32("nan"))


model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
model.fit(x, y, batch_size=64, epochs=1, verbose=0, callbacks=[Poison()])
"""
