"""kanezaki/pytorch-unsupervised-segmentation, demo.py before "fixed param collection" (PR 6):
unsupervised image segmentation by a small CNN (conv1 3x3 -> ReLU -> BN, nConv-1 = 1 middle
3x3 conv -> ReLU -> BN, conv3 1x1 -> BN, 100 channels) trained with SGD(0.1, momentum 0.9) and
CrossEntropyLoss against its own argmax labels made uniform inside each superpixel. The middle
conv and its BatchNorm are kept in plain Python lists (self.conv2 = [], self.bn2 = [])."""
LABEL = {
    "source": "https://github.com/kanezaki/pytorch-unsupervised-segmentation/pull/6",
    "question": "The conv and batch normalization layers are added to a normal list on the "
                "module instance, which prevents methods like train and parameters from "
                "impacting those layers: should they be an nn.ModuleList?",
    "changes": ["a seeded synthetic 64x64 RGB image (six flat-coloured regions plus noise) "
                "instead of cv2.imread of a photograph; skimage's SLIC superpixels (neither "
                "skimage nor cv2 is installed) replaced by a fixed grid of 4x4-pixel squares",
                "maxIter 1000 -> 100 (the minLabels=3 stop kept); visualize off (no cv2.imshow "
                "/ imwrite); Variable and loss.data[0] -> tensors and loss.item(); cpu; "
                "torch.manual_seed(0) and np.random.seed(0)"],
    "pair": "torch_kanezaki_segmentation_modulelist",
    "framework": "torch",
    "category": "positive",
    "architecture": "CNN (3 conv + BatchNorm, per-pixel classifier)",
    "fast": False,
    "expected": [{"kind": "not_optimized", "where": [], "step_max": 0}],
    "allowed": [],
    "root_cause": "not_optimized",
    "why": "the middle 3x3 conv (100x100x3x3 weight + bias) and its BatchNorm sit in Python "
           "lists, so model.parameters() and the SGD optimizer never hold them; they are in "
           "the forward graph and receive gradients at every step (the plain-hook check lists "
           "them as requiring grad and in no optimizer; checked once by hand, after 100 steps "
           "the conv weight's .grad holds an accumulated norm of 23, never reset since no "
           "optimizer holds it, and bn2's weight is still exactly its initial ones), but keep "
           "their initial values: the conv's output rms is 0.491 at step 0 and 0.523 after 100 "
           "steps, while with nn.ModuleList (the pair) the same layer is trained and its output "
           "rms grows to 5.4. The self-labelled loss does not reveal it (it is each pixel's "
           "agreement with the network's own argmax, refined per superpixel): it falls from "
           "2.43 to 0.057 here and to 0.083 in the fix, with 10 vs 11 segments left, so what is "
           "wrong is the frozen layer, not the loss curve. The unregistered tensors belong to no "
           "model that owns optimized parameters and have no contract name: where is empty",
    "measured": {"loss_start": 2.43, "loss_end": 0.0568, "not_in_optimizer": ['bias', 'weight'],
                 "frozen_conv_rms_init": 0.491, "frozen_conv_rms_end": 0.523,
                 "best_constant": 2.16, "end_over_best": 0.0263, "steps": 100},
}
import argparse
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torch.nn.init

torch.manual_seed(0)
np.random.seed(0)
use_cuda = False

parser = argparse.ArgumentParser(description='PyTorch Unsupervised Segmentation')
parser.add_argument('--nChannel', metavar='N', default=100, type=int,
                    help='number of channels')
parser.add_argument('--maxIter', metavar='T', default=100, type=int,
                    help='number of maximum iterations')
parser.add_argument('--minLabels', metavar='minL', default=3, type=int,
                    help='minimum number of labels')
parser.add_argument('--lr', metavar='LR', default=0.1, type=float,
                    help='learning rate')
parser.add_argument('--nConv', metavar='M', default=2, type=int,
                    help='number of convolutional layers')
parser.add_argument('--visualize', metavar='1 or 0', default=0, type=int,
                    help='visualization flag')
args, _ = parser.parse_known_args()


# CNN model
class MyNet(nn.Module):
    def __init__(self, input_dim):
        super(MyNet, self).__init__()
        self.conv1 = nn.Conv2d(input_dim, args.nChannel, kernel_size=3, stride=1, padding=1)
        self.bn1 = nn.BatchNorm2d(args.nChannel)
        self.conv2 = []
        self.bn2 = []
        for i in range(args.nConv - 1):
            self.conv2.append(nn.Conv2d(args.nChannel, args.nChannel, kernel_size=3, stride=1, padding=1))
            self.bn2.append(nn.BatchNorm2d(args.nChannel))
        self.conv3 = nn.Conv2d(args.nChannel, args.nChannel, kernel_size=1, stride=1, padding=0)
        self.bn3 = nn.BatchNorm2d(args.nChannel)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.bn1(x)
        for i in range(args.nConv - 1):
            x = self.conv2[i](x)
            x = F.relu(x)
            x = self.bn2[i](x)
        x = self.conv3(x)
        x = self.bn3(x)
        return x


# load image (a synthetic stand-in: flat-coloured regions plus noise, HxWx3 uint8)
H = W = 64
yy, xx = np.mgrid[0:H, 0:W]
region = (yy // 32) * 3 + (xx * 3 // 64)
colours = np.random.randint(0, 255, size=(6, 3))
im = colours[region] + np.random.randint(-20, 21, size=(H, W, 3))
im = np.clip(im, 0, 255).astype(np.uint8)
data = torch.from_numpy(np.array([im.transpose((2, 0, 1)).astype('float32') / 255.]))

# superpixels (SLIC stand-in: 4x4 squares)
labels = ((yy // 4) * (W // 4) + (xx // 4)).reshape(im.shape[0] * im.shape[1])
u_labels = np.unique(labels)
l_inds = []
for i in range(len(u_labels)):
    l_inds.append(np.where(labels == u_labels[i])[0])

# train
model = MyNet(data.size(1))
model.train()
loss_fn = torch.nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
label_colours = np.random.randint(255, size=(100, 3))
for batch_idx in range(args.maxIter):
    # forwarding
    optimizer.zero_grad()
    output = model(data)[0]
    output = output.permute(1, 2, 0).contiguous().view(-1, args.nChannel)
    ignore, target = torch.max(output, 1)
    im_target = target.data.cpu().numpy()
    nLabels = len(np.unique(im_target))

    # superpixel refinement
    for i in range(len(l_inds)):
        labels_per_sp = im_target[l_inds[i]]
        u_labels_per_sp = np.unique(labels_per_sp)
        hist = np.zeros(len(u_labels_per_sp))
        for j in range(len(hist)):
            hist[j] = len(np.where(labels_per_sp == u_labels_per_sp[j])[0])
        im_target[l_inds[i]] = u_labels_per_sp[np.argmax(hist)]
    target = torch.from_numpy(im_target)
    loss = loss_fn(output, target)
    loss.backward()
    optimizer.step()

    print(batch_idx, '/', args.maxIter, ':', nLabels, loss.item())
    if nLabels <= args.minLabels:
        print("nLabels", nLabels, "reached minLabels", args.minLabels, ".")
        break
