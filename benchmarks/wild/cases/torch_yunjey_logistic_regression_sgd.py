"""yunjey/pytorch-tutorial, 01-basics/logistic_regression: nn.Linear(784, 10) on MNIST pixels in
[0, 1], CrossEntropyLoss, plain SGD at lr 0.001, batches of 100, 5 epochs (3,000 steps)."""
LABEL = {
    "source": "https://github.com/yunjey/pytorch-tutorial/blob/master/tutorials/01-basics/logistic_regression/main.py",
    "question": "The tutorial's logistic regression, plain SGD at 1e-3: does it train in its "
                "3,000 steps?",
    "changes": ["_data.digits_images (scikit-learn digits resized to 28x28, in [0, 1]) instead "
                "of the torchvision MNIST download; the tutorial's 3,000 steps of 100 images kept "
                "(167 passes over the 1,797 images instead of 5 over 60,000)",
                "torch.manual_seed(0); the test pass and torch.save dropped (a train-set "
                "accuracy print added at the end)"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "logistic regression (one Linear)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "slow per step but it trains: plain SGD at 1e-3 moves the weight only 0.046% of its "
           "norm per step (|g|/|w| ~0.46), and over the tutorial's 3,000 steps that adds up: the "
           "cross-entropy falls steadily from 2.37 at the first step to 0.68 over the last 300 "
           "(end/best 0.30 against the best constant prediction's 2.30; the lowest window is the "
           "last), 92% train accuracy; no NaN, no blow-up (gradient growth 1.25-1.8x)",
    "measured": {"loss_start": 2.1, "loss_end": 0.681, "loss_first": 2.37, "best_constant": 2.3,
                 "end_over_best": 0.296, "update_over_w_weight": 0.000464,
                 "g_over_w_weight": 0.464, "steps": 3000},
}
import torch
import torch.nn as nn

from _data import batches, digits_images

torch.manual_seed(0)

# Hyper-parameters
input_size = 28 * 28    # 784
num_classes = 10
num_steps = 3000
batch_size = 100
learning_rate = 0.001

images_all, labels_all = digits_images(28)

# Logistic regression model
model = nn.Linear(input_size, num_classes)

# Loss and optimizer
# nn.CrossEntropyLoss() computes softmax internally
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

# Train the model
step, epoch = 0, 0
while step < num_steps:
    for i, (images, labels) in enumerate(batches(images_all, labels_all, batch_size, seed=epoch)):
        if step == num_steps:
            break
        # Reshape images to (batch_size, input_size)
        images = images.reshape(-1, input_size)

        # Forward pass
        outputs = model(images)
        loss = criterion(outputs, labels)

        # Backward and optimize
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1

        if step % 300 == 0:
            print('Step [{}/{}], Loss: {:.4f}'.format(step, num_steps, loss.item()))
    epoch += 1

with torch.no_grad():
    acc = (model(images_all.reshape(-1, input_size)).argmax(1) == labels_all).float().mean().item()
print('train accuracy', acc)
