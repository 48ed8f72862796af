"""A Stack Overflow question (here from its mirror): a 784-800-10 sigmoid network trained on MNIST
with MSE against one-hot targets and SGD 0.001, gradients summed over the 32 images of a batch."""
LABEL = {
    "source": "https://whosebug.com/index.php/question/6116914/neural-network-trained-with-PyTorch-outputs-the-mean-value-for-every-input",
    "question": "Neural network trained with PyTorch outputs the mean value for every input.",
    "changes": ["scikit-learn's digits resized to 28x28 instead of the torchvision MNIST "
                "download (1,797 images: 3 passes, 168 steps, instead of one pass over 60,000)",
                "seeded; torch.save dropped"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (sigmoid)",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights", "vanishing_gradient"],
    "root_cause": None,
    "why": "SGD 0.001 on an MSE of sigmoid outputs moves layer1 by 2.5e-5 of its norm per step: "
           "in 171 steps the network learns only the class frequencies, its loss falls to and "
           "stays at the best constant prediction's (the one-hot targets' variance, 0.090; "
           "end/best 0.999) and it outputs ~0.11 for every input, as the post says",
    "measured": {"loss_start": 0.14, "loss_end": 0.0899, "best_constant": 0.09,
                 "end_over_best": 0.999, "update_over_w_layer1": 2.47e-05,
                 "g_over_w_layer1_vs_best": 0.00746},
}

import torch

from _data import batches, digits_images

torch.manual_seed(0)
images_all, labels_all = digits_images(28)


class Net(torch.nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        self.layer1 = torch.nn.Linear(784, 800)
        self.layer2 = torch.nn.Linear(800, 10)

    def forward(self, x):
        x = torch.sigmoid(self.layer1(x))
        x = torch.sigmoid(self.layer2(x))
        return x


batch_size = 32
net = Net()
loss_function = torch.nn.MSELoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.001)

for epoch in range(3):
    for images, labels in batches(images_all, labels_all, batch_size, seed=epoch):
        optimizer.zero_grad()
        for i in range(len(images)):
            output = net(torch.flatten(images[i]))
            desired_output = torch.tensor([float(j == labels[i]) for j in range(10)])
            loss = loss_function(output, desired_output)
            loss.backward()
        optimizer.step()
print(net(torch.flatten(images_all[0])), net(torch.flatten(images_all[1])))
