"""The accepted fix of Stack Overflow 46577203: the same quadratic fit at rate 0.001.

Below 2/curvature the coefficients converge; the summed loss falls from 98 towards 0.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/46577203",
    "question": "Why does my TensorFlow quadratic regression return NaN for the coefficients? "
                "(the accepted fix)",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "prints the loss every 10 steps"],
    "pair": "tf1_quadratic_sum_loss_diverges",
    "category": "healthy",
    "architecture": "polynomial regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "below 2/curvature the coefficients converge: the summed loss falls from 98 to 0.09",
    "measured": {"loss_first": 98.0, "loss_start": 12.7, "loss_end": 0.0875,
                 "best_constant_loss": 49.0, "loss_end_over_best_constant": 0.00179},
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
optimizer = tf.train.GradientDescentOptimizer(0.001)
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
