"""bkitano/llama-from-scratch, llama.ipynb: a character-level model (Embedding(65, 128) ->
Linear(128,128) -> ReLU -> Linear(128, 65)) trained with Adam() (lr 1e-3) for 300 steps (1000 in the notebook) on
batches of 32 x 16 characters, evaluated every 10 steps under @torch.no_grad() / model.eval().
This file runs the notebook's SimpleBrokenModel."""
LABEL = {
    "framework": "torch",
    "source": "https://github.com/bkitano/llama-from-scratch/issues/5",
    "question": "The 'SimpleBrokenModel' of a LLaMA-from-scratch walkthrough applies F.softmax before F.cross_entropy over the character vocabulary (issue 5); does it learn?",
    "changes": ["Tiny Shakespeare input.txt replaced by 1.1M characters of Python's bundled help "
                "texts (_text_data.shakespeare_like), vocabulary built the notebook's way (73 symbols instead of 65)",
                "300 steps instead of 1000; torch.manual_seed(0); the final pandas plot dropped; print_logs kept off as in "
                "the notebook"],
    "pair": "torch_llama_scratch_simple_model",
    "architecture": "MLP",
    "fast": False,
    "category": 'positive',
    "expected": [{'kind': 'loss_not_decreasing', 'step_max': 100}],
    "allowed": ['vanishing_gradient', 'stalled_weights'],
    "root_cause": 'loss_not_decreasing',
    "why": 'softmax outputs in [0,1] fed to F.cross_entropy as logits: over 73 symbols the loss cannot go below log(e+72)-1 = 3.31, above the best constant 3.058; measured 4.26 -> 4.02 (end/best 1.31) in 300 steps, gradients 30-60x smaller against their weights than in the fixed model',
    "measured": {'loss_start': 4.26, 'loss_end': 4.02, 'best_constant': 3.058, 'loss_end_over_best_constant': 1.314, 'linear2_weight_g_over_w_med': 0.00196, 'embedding_g_over_w_med': 7.14e-06, 'steps': 300},
}
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from _text_data import shakespeare_like

torch.manual_seed(0)
lines = shakespeare_like()
vocab = sorted(list(set(lines)))
itos = {i: ch for i, ch in enumerate(vocab)}
stoi = {ch: i for i, ch in enumerate(vocab)}


def encode(s):
    return [stoi[ch] for ch in s]


def decode(l):
    return ''.join([itos[i] for i in l])


print('vocab size:', len(vocab))
MASTER_CONFIG = {"vocab_size": len(vocab)}
dataset = torch.tensor(encode(lines), dtype=torch.int8)


def get_batches(data, split, batch_size, context_window, config=MASTER_CONFIG):
    train = data[:int(.8 * len(data))]
    val = data[int(.8 * len(data)): int(.9 * len(data))]
    test = data[int(.9 * len(data)):]
    batch_data = train
    if split == 'val':
        batch_data = val
    if split == 'test':
        batch_data = test
    ix = torch.randint(0, batch_data.size(0) - context_window - 1, (batch_size,))
    x = torch.stack([batch_data[i:i + context_window] for i in ix]).long()
    y = torch.stack([batch_data[i + 1:i + context_window + 1] for i in ix]).long()
    return x, y


MASTER_CONFIG.update({'batch_size': 8, 'context_window': 16})


@torch.no_grad()  # don't compute gradients for this function
def evaluate_loss(model, config=MASTER_CONFIG):
    out = {}
    model.eval()
    for split in ["train", "val"]:
        losses = []
        for _ in range(10):
            xb, yb = get_batches(dataset, split, config['batch_size'], config['context_window'])
            _, loss = model(xb, yb)
            losses.append(loss.item())
        out[split] = np.mean(losses)
    model.train()
    return out


class SimpleBrokenModel(nn.Module):
    def __init__(self, config=MASTER_CONFIG):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config['vocab_size'], config['d_model'])
        self.linear = nn.Sequential(
            nn.Linear(config['d_model'], config['d_model']),
            nn.ReLU(),
            nn.Linear(config['d_model'], config['vocab_size']),
        )
        print("model params:", sum([m.numel() for m in self.parameters()]))

    def forward(self, idx, targets=None):
        x = self.embedding(idx)
        a = self.linear(x)
        logits = F.softmax(a, dim=-1)
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, self.config['vocab_size']), targets.view(-1))
            return logits, loss
        else:
            return logits


class SimpleModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config['vocab_size'], config['d_model'])
        self.linear = nn.Sequential(
            nn.Linear(config['d_model'], config['d_model']),
            nn.ReLU(),
            nn.Linear(config['d_model'], config['vocab_size']),
        )
        print("model params:", sum([m.numel() for m in self.parameters()]))

    def forward(self, idx, targets=None):
        x = self.embedding(idx)
        logits = self.linear(x)
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, self.config['vocab_size']), targets.view(-1))
            return logits, loss
        else:
            return logits


MASTER_CONFIG.update({'d_model': 128})
MASTER_CONFIG.update({'epochs': 300, 'log_interval': 10, 'batch_size': 32})
model = SimpleBrokenModel(MASTER_CONFIG)
optimizer = torch.optim.Adam(model.parameters())


def train(model, optimizer, scheduler=None, config=MASTER_CONFIG, print_logs=False):
    losses = []
    start_time = time.time()
    for epoch in range(config['epochs']):
        optimizer.zero_grad()
        xs, ys = get_batches(dataset, 'train', config['batch_size'], config['context_window'])
        logits, loss = model(xs, targets=ys)
        loss.backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
        if epoch % config['log_interval'] == 0:
            batch_time = time.time() - start_time
            x = evaluate_loss(model)
            losses += [x]
            if print_logs:
                print(f"Epoch {epoch} | val loss {x['val']:.3f} | Time {batch_time:.3f}")
            start_time = time.time()
    print("validation loss: ", losses[-1]['val'], "first:", losses[0]['val'])
    return losses


train(model, optimizer)
