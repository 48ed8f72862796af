"""nanoGPT (karpathy/nanoGPT) on characters with the README's "I only have a MacBook" CPU
configuration: 4 layers, 4 heads, width 128, 64 characters of context, batch 12, no dropout,
AdamW (betas 0.9/0.99, weight decay 0.1 on matrices only), learning rate 1e-3 warmed up over 100
steps and cosine-decayed to 1e-4, gradients clipped at norm 1, input and output embeddings tied,
attention through F.scaled_dot_product_attention (is_causal)."""
LABEL = {
    "source": "https://github.com/karpathy/nanoGPT/blob/master/README.md",
    "question": "nanoGPT's character-level Shakespeare model at the README's CPU settings "
                "(train.py config/train_shakespeare_char.py --device=cpu --block_size=64 "
                "--batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 "
                "--lr_decay_iters=2000 --dropout=0.0).",
    "changes": ["the model, optimizer groups, schedule and loop rewritten in one file with the "
                "config's values (no checkpoints, evaluation or generation)",
                "Python's own help topics (pydoc_data, 465k characters) instead of the "
                "downloaded Shakespeare text",
                "1,000 iterations, cosine-decayed over 1,000 (the README: 2,000)"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "transformer (GPT, scaled_dot_product_attention)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "a small GPT at the learning rate its authors chose learns: the loss falls from 3.0 "
           "to 1.8, against 3.25 for the best constant prediction (the characters' "
           "frequencies); its attention heads sharpen as they learn (a healthy run's largest "
           "attention logits are tens)",
    "measured": {"loss_start": 3.04, "loss_end": 1.76, "best_constant": 3.25,
                 "end_over_best": 0.54},
}
import math

import pydoc_data.topics
import torch
import torch.nn as nn
from torch.nn import functional as F

# hyperparameters (config/train_shakespeare_char.py with the README's CPU overrides)
batch_size, block_size = 12, 64
n_layer, n_head, n_embd, dropout = 4, 4, 128, 0.0
learning_rate, min_lr, max_iters, warmup_iters, lr_decay_iters = 1e-3, 1e-4, 1000, 100, 1000
weight_decay, beta1, beta2, grad_clip = 1e-1, 0.9, 0.99, 1.0
torch.manual_seed(1337)

# the text: Python's own help topics, shipped with the standard library (no download)
text = "\n".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics))
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
train_data = data[: int(0.9 * len(data))]


def get_batch():
    ix = torch.randint(len(train_data) - block_size, (batch_size,))
    x = torch.stack([train_data[i:i + block_size] for i in ix])
    y = torch.stack([train_data[i + 1:i + 1 + block_size] for i in ix])
    return x, y


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(n_embd, dim=2)
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(n_embd), CausalSelfAttention()
        self.ln_2, self.mlp = nn.LayerNorm(n_embd), MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd), wpe=nn.Embedding(block_size, n_embd),
            h=nn.ModuleList([Block() for _ in range(n_layer)]), ln_f=nn.LayerNorm(n_embd)))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets):
        t = idx.size(1)
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(t))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def get_lr(it):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(ratio, 1.0))) * (learning_rate - min_lr)


model = GPT(len(chars))
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(
    [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
     {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
    lr=learning_rate, betas=(beta1, beta2))
for it in range(max_iters):
    for group in optimizer.param_groups:
        group["lr"] = get_lr(it)
    X, Y = get_batch()
    logits, loss = model(X, Y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if it % 100 == 0 or it == max_iters - 1:
        print(f"iter {it}: loss {loss.item():.4f}")
