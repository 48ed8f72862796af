"""TF1 quadratic fit a*x^2 + b*x + c with a summed squared error and rate 0.01: it diverges.

Stack Overflow 46577203 ("TensorFlow quadratic regression gives NaN"): four points of y = x^2,
loss ``reduce_sum(square(model - y))``, gradient descent at 0.01 for 100 steps. Along ``a`` the
curvature is 2*sum(x^4) = 196, so 0.01 overshoots (rate x curvature ~ 2 and more with the
coupling to b, c): the coefficients oscillate with growing amplitude. The answer: rate 0.001.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/46577203",
    "question": "Why does my TensorFlow quadratic regression return NaN for the coefficients?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "prints the loss every 10 steps"],
    "pair": "tf1_quadratic_sum_loss_lr1e3",
    "category": "positive",
    "architecture": "polynomial regression",
    "fast": False,
    "expected": [{"kind": "loss_diverging", "where": []}],
    "allowed": ["exploding_gradient", "nonfinite", "loss_spike"],
    "root_cause": None,
    "why": "rate 0.01 x curvature 2*sum(x^4) = 196 > 2: the quadratic coefficient overshoots and "
           "the loss grows without bound",
    "measured": {"loss_first": 98.0, "loss_start": 1060.0, "loss_end": 4.21e+21,
                 "best_constant_loss": 49.0, "loss_end_over_best_constant": 8.6e+19,
                 "grad_growth": 1580000000.0},
    "measure": "--reference mse:Placeholder_1:sum",
}

tf.set_random_seed(20180130)

# Model parameters
A = tf.Variable([0], dtype=tf.float32)
B = tf.Variable([0], dtype=tf.float32)
C = tf.Variable([0], dtype=tf.float32)
# Model input and output
x = tf.placeholder(tf.float32)
model = A * (x ** 2) + B * x + C
y = tf.placeholder(tf.float32)

# loss
loss = tf.reduce_sum(tf.square(model - y))  # sum of the squares
# optimizer
optimizer = tf.train.GradientDescentOptimizer(0.01)
train = optimizer.minimize(loss)

# training data
x_train = [0, 1, 2, 3]
y_train = [0, 1, 4, 9]
# training loop
init = tf.global_variables_initializer()
sess = tf.Session()
sess.run(init)
for i in range(100):
    _, curr = sess.run([train, loss], {x: x_train, y: y_train})
    if i % 10 == 0:
        print(i, curr)

# evaluate training accuracy
curr_A, curr_B, curr_C, curr_loss = sess.run([A, B, C, loss], {x: x_train, y: y_train})
print("A: %s B: %s C: %s loss: %s" % (curr_A, curr_B, curr_C, curr_loss))
