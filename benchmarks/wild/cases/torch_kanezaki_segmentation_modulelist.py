"""kanezaki/pytorch-unsupervised-segmentation, demo.py after "fixed param collection" (PR 6):
unsupervised image segmentation by a small CNN (conv1 3x3 -> ReLU -> BN, nConv-1 = 1 middle
3x3 conv -> ReLU -> BN, conv3 1x1 -> BN, 100 channels) trained with SGD(0.1, momentum 0.9) and
CrossEntropyLoss against its own argmax labels made uniform inside each superpixel. The middle
conv and its BatchNorm are kept in plain Python lists (self.conv2 = nn.ModuleList(), self.bn2 = nn.ModuleList())."""
LABEL = {
    "source": "https://github.com/kanezaki/pytorch-unsupervised-segmentation/commit/878840f31866ca560337f3b56ff62ef2cae166fa",
    "question": "The conv and batch normalization layers are added to a normal list on the "
                "module instance, which prevents methods like train and parameters from "
                "impacting those layers: should they be an nn.ModuleList?",
    "changes": ["a seeded synthetic 64x64 RGB image (six flat-coloured regions plus noise) "
                "instead of cv2.imread of a photograph; skimage's SLIC superpixels (neither "
                "skimage nor cv2 is installed) replaced by a fixed grid of 4x4-pixel squares",
                "maxIter 1000 -> 100 (the minLabels=3 stop kept); visualize off (no cv2.imshow "
                "/ imwrite); Variable and loss.data[0] -> tensors and loss.item(); cpu; "
                "torch.manual_seed(0) and np.random.seed(0)"],
    "pair": "torch_kanezaki_segmentation_conv_list",
    "framework": "torch",
    "category": "healthy",
    "architecture": "CNN (3 conv + BatchNorm, per-pixel classifier)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "with nn.ModuleList every conv and BatchNorm tensor is in the optimizer and moves "
           "(conv2.0 4% of its norm per step, its output rms 0.49 -> 5.4); the self-labelled "
           "cross-entropy falls from 2.28 (the best constant prediction's 2.21) to 0.083 in 100 "
           "steps (end/best 0.038) with 11 segments left; no NaN, no dead input channel at the "
           "end. conv3.bias, followed by bn3, gets a gradient ~4e-8 of its norm: a bias before "
           "BatchNorm is cancelled by the normalization, by construction, not a fault",
    "measured": {"loss_start": 2.28, "loss_end": 0.0832, "conv2_rms_init": 0.491,
                 "conv2_rms_end": 5.42, "conv2_update_ratio": 0.0428, "best_constant": 2.2,
                 "end_over_best": 0.0377, "conv3_bias_g_over_w": 3.86e-08, "steps": 100},
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
        self.conv2 = nn.ModuleList()
        self.bn2 = nn.ModuleList()
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
