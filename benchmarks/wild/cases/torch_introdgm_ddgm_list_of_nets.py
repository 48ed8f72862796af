"""Tomczak's "Introduction to Deep Generative Modeling" (jmtomczak/intro_dgm), ddgms/ddgm_example:
a diffusion-based generative model of scikit-learn's 8x8 digits whose T-1 reverse-diffusion
networks p_dnns are kept in a plain Python list, so model.parameters() (and the optimizer) never
see them."""
LABEL = {
    "source": "https://github.com/jmtomczak/intro_dgm/issues/6",
    "question": "In the ddgm example shouldn't self.p_dnns = p_dnns be "
                "self.p_dnns = nn.ModuleList(p_dnns)? Otherwise the p_dnns networks are not in "
                "the learned parameters and are left unoptimized.",
    "changes": ["the notebook's cells in one script (ddgms/ddgm_example.ipynb at HEAD, the "
                "bug still there); torchvision's tt.Lambda replaced by the same plain lambda "
                "(torchvision is not installed)",
                "at most 10 epochs instead of 1000 (early stopping with patience 50 kept); "
                "the model checkpoints, sample images and plots dropped (the final evaluation "
                "uses the last model instead of the saved best); torch.manual_seed(0)"],
    "pair": "torch_introdgm_ddgm_modulelist",
    "framework": "torch",
    "category": "positive",
    "architecture": "MLP (diffusion model: 4 reverse-step LeakyReLU MLPs + decoder)",
    "fast": False,
    "expected": [{"kind": "not_optimized", "where": [], "step_max": 0}],
    "allowed": ["loss_not_decreasing"],
    "root_cause": "not_optimized",
    "why": "the four reverse-diffusion MLPs (32 tensors, 724k of the 1.32M parameters) sit in "
           "a Python list, so model.parameters() and Adamax hold only decoder_net's 8 tensors; "
           "a plain-hook check (module forward pre-hooks and optimizer step hooks) finds every "
           "p_dnns tensor with a non-zero gradient at every step (median norm 58, against 0.82 "
           "for the decoder's) and exactly at its initial value after the 160 steps. Their KL "
           "terms cannot improve: the training loss stops near 135 after two epochs while the "
           "nn.ModuleList fix (the pair) falls to 88 in the same steps. The p_dnns belong to no "
           "model that owns optimized parameters (DDGM never registered them), so they have no "
           "contract name and where is left empty",
    "measured": {"loss_start": 141.0, "loss_end": 135.0, "min_window": 135.0,
                 "loss_first": 152.0, "steps": 160},
}
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.utils.data import Dataset, DataLoader
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class Digits(Dataset):
    """Scikit-Learn Digits dataset."""

    def __init__(self, mode='train', transforms=None):
        digits = load_digits()
        if mode == 'train':
            self.data = digits.data[:1000].astype(np.float32)
        elif mode == 'val':
            self.data = digits.data[1000:1350].astype(np.float32)
        else:
            self.data = digits.data[1350:].astype(np.float32)

        self.transforms = transforms

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        sample = self.data[idx]
        if self.transforms:
            sample = self.transforms(sample)
        return sample


PI = torch.from_numpy(np.asarray(np.pi))
EPS = 1.e-7


def log_normal_diag(x, mu, log_var, reduction=None, dim=None):
    log_p = -0.5 * torch.log(2. * PI) - 0.5 * log_var - 0.5 * torch.exp(-log_var) * (x - mu)**2.
    if reduction == 'avg':
        return torch.mean(log_p, dim)
    elif reduction == 'sum':
        return torch.sum(log_p, dim)
    else:
        return log_p


def log_standard_normal(x, reduction=None, dim=None):
    log_p = -0.5 * torch.log(2. * PI) - 0.5 * x**2.
    if reduction == 'avg':
        return torch.mean(log_p, dim)
    elif reduction == 'sum':
        return torch.sum(log_p, dim)
    else:
        return log_p


class DDGM(nn.Module):
    def __init__(self, p_dnns, decoder_net, beta, T, D):
        super(DDGM, self).__init__()

        print('DDGM by JT.')

        self.p_dnns = p_dnns  # a list of sequentials

        self.decoder_net = decoder_net

        # other params
        self.D = D

        self.T = T

        self.beta = torch.FloatTensor([beta])

    @staticmethod
    def reparameterization(mu, log_var):
        std = torch.exp(0.5*log_var)
        eps = torch.randn_like(std)
        return mu + std * eps

    def reparameterization_gaussian_diffusion(self, x, i):
        return torch.sqrt(1. - self.beta) * x + torch.sqrt(self.beta) * torch.randn_like(x)

    def forward(self, x, reduction='avg'):
        # =====
        # forward difussion
        zs = [self.reparameterization_gaussian_diffusion(x, 0)]

        for i in range(1, self.T):
            zs.append(self.reparameterization_gaussian_diffusion(zs[-1], i))

        # =====
        # backward diffusion
        mus = []
        log_vars = []

        for i in range(len(self.p_dnns) - 1, -1, -1):
            h = self.p_dnns[i](zs[i+1])
            mu_i, log_var_i = torch.chunk(h, 2, dim=1)
            mus.append(mu_i)
            log_vars.append(log_var_i)

        mu_x = self.decoder_net(zs[0])

        # =====ELBO
        # RE
        RE = log_standard_normal(x - mu_x).sum(-1)

        # KL
        KL = log_normal_diag(zs[-1], torch.sqrt(1. - self.beta) * zs[-1], torch.log(self.beta) - (log_standard_normal(zs[-1]))).sum(-1)

        for i in range(len(mus)):
            KL_i = (log_normal_diag(zs[i], torch.sqrt(1. - self.beta) * zs[i], torch.log(self.beta)) - log_normal_diag(zs[i], mus[i], log_vars[i])).sum(-1)

            KL = KL + KL_i

        # Final ELBO
        if reduction == 'sum':
            loss = -(RE - KL).sum()
        else:
            loss = -(RE - KL).mean()

        return loss


def evaluation(test_loader, name=None, model_best=None, epoch=None):
    # EVALUATION
    model_best.eval()
    loss = 0.
    N = 0.
    for indx_batch, test_batch in enumerate(test_loader):
        loss_t = model_best.forward(test_batch, reduction='sum')
        loss = loss + loss_t.item()
        N = N + test_batch.shape[0]
    loss = loss / N

    if epoch is None:
        print(f'FINAL LOSS: nll={loss}')
    else:
        print(f'Epoch: {epoch}, val nll={loss}')

    return loss


def training(name, max_patience, num_epochs, model, optimizer, training_loader, val_loader):
    nll_val = []
    best_nll = 1000.
    patience = 0

    # Main loop
    for e in range(num_epochs):
        # TRAINING
        model.train()
        for indx_batch, batch in enumerate(training_loader):
            loss = model.forward(batch)

            optimizer.zero_grad()
            loss.backward(retain_graph=True)
            optimizer.step()

        # Validation
        loss_val = evaluation(val_loader, model_best=model, epoch=e)
        nll_val.append(loss_val)  # save for plotting

        if e == 0:
            print('saved!')
            best_nll = loss_val
        else:
            if loss_val < best_nll:
                print('saved!')
                best_nll = loss_val
                patience = 0
            else:
                patience = patience + 1

        if patience > max_patience:
            break

    nll_val = np.asarray(nll_val)

    return nll_val


transforms = lambda x: 2. * (x / 17.) - 1.

train_data = Digits(mode='train', transforms=transforms)
val_data = Digits(mode='val', transforms=transforms)
test_data = Digits(mode='test', transforms=transforms)

training_loader = DataLoader(train_data, batch_size=64, shuffle=True)
val_loader = DataLoader(val_data, batch_size=64, shuffle=False)
test_loader = DataLoader(test_data, batch_size=64, shuffle=False)

D = 64   # input dimension

M = 256  # the number of neurons in scale (s) and translation (t) nets

T = 5

beta = 0.6

lr = 1e-3 # learning rate
num_epochs = 10 # max. number of epochs
max_patience = 50 # an early stopping is used, if training doesn't improve for longer than 20 epochs, it is stopped

name = 'ddmg' + '_' + str(T) + '_' + str(beta)

p_dnns = [nn.Sequential(nn.Linear(D, M), nn.LeakyReLU(),
                        nn.Linear(M, M), nn.LeakyReLU(),
                        nn.Linear(M, M), nn.LeakyReLU(),
                        nn.Linear(M, 2 * D)) for _ in range(T-1)]

decoder_net = nn.Sequential(nn.Linear(D, M*2), nn.LeakyReLU(),
                            nn.Linear(M*2, M*2), nn.LeakyReLU(),
                            nn.Linear(M*2, M*2), nn.LeakyReLU(),
                            nn.Linear(M*2, D), nn.Tanh())


# Eventually, we initialize the full model
model = DDGM(p_dnns, decoder_net, beta=beta, T=T, D=D)

# OPTIMIZER
optimizer = torch.optim.Adamax([p for p in model.parameters() if p.requires_grad == True], lr=lr)

# Training procedure
nll_val = training(name=name, max_patience=max_patience, num_epochs=num_epochs, model=model, optimizer=optimizer,
                       training_loader=training_loader, val_loader=val_loader)

test_loss = evaluation(name=name, test_loader=test_loader, model_best=model)
