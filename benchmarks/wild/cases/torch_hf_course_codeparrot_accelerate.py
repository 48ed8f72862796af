"""Hugging Face course, chapter 7 section 6 "Training a causal language model from scratch",
"Training with Accelerate": GPT2LMHeadModel(config) built from a config (lm_head tied to the
token embedding), AdamW over two parameter groups (weight decay 0.1, none for biases and
LayerNorm weights), the linear schedule from get_scheduler with warmup from lr 0, gradient
accumulation over 8 micro-batches with the loss divided by 8, clip_grad_norm_(1.0) through the
Accelerator, mixed precision, and the course's keytoken-weighted cross-entropy."""
LABEL = {
    "source": "https://github.com/huggingface/course/blob/main/chapters/en/chapter7/6.mdx",
    "question": "The course's own hand-written causal-LM training loop (Accelerate, gradient "
                "accumulation, warmup, tied embeddings): does it train?",
    "changes": ["a tiny GPT2Config (vocab 512, n_positions 64, 2 layers, 4 heads, 64 wide) "
                "instead of AutoConfig.from_pretrained('gpt2', ...) (a download; 124M "
                "parameters); seeded sequences from a sparse random Markov chain instead of "
                "the tokenized codeparrot dataset; token ids 5-14 as the keyword tokens",
                "Accelerator(fp16=True) -> Accelerator(mixed_precision='bf16', cpu=True): the "
                "current argument; fp16 autocast is not available on CPU",
                "batches of 8 instead of 32; 400 micro-batches (50 optimizer steps) instead of "
                "~19,000; warm-up 1,000 of ~2,400 optimizer steps scaled to 21 of 50, and "
                "num_training_steps = len(train_dataloader) (micro-batches) as in the course",
                "CrossEntropyLoss(reduce=False) -> reduction='none'; the evaluation, Hub push "
                "and tqdm dropped; torch.manual_seed(0)"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "GPT-2 (transformers, Accelerate)",
    "fast": False,
    "expected": [],
    "allowed": ['loss_not_decreasing'],
    "root_cause": None,
    "why": "it learns from the first updates: lr warms up from 0 over 21 optimizer steps, each of the 50 optimizer steps follows 8 backward passes (grads reset only after the step: no stale gradient at any first backward), every parameter moves 1e-4..1e-2 of its norm per step (LayerNorm weights ~1e-4); the next-token cross-entropy on 256 training sequences is 5.62 after 50 updates against 6.24 for the uniform/unigram prediction (the chain's floor is ln 4 = 1.39): early, short of the course's 2,400 updates, but going down",
    "measured": {'optimizer_steps': 50, 'backward_passes': 400, 'weighted_loss_start': 1.656, 'weighted_loss_end': 1.599, 'final_ce': 5.62, 'uniform_ce': 6.24, 'wte_update_ratio': 0.00544, 'ln_weight_update_ratio': 8.3e-05},
}
import numpy as np
import torch
from accelerate import Accelerator
from torch.nn import CrossEntropyLoss
from torch.optim import AdamW
from torch.utils.data.dataloader import DataLoader
from transformers import GPT2Config, GPT2LMHeadModel, get_scheduler

torch.manual_seed(0)
context_length = 64
VOCAB = 512

# codeparrot stand-in: each token is followed by one of 4 tokens drawn for it (a sparse chain)
rng = np.random.default_rng(0)
successors = rng.integers(0, VOCAB, size=(VOCAB, 4))
seqs = np.zeros((3200, context_length), dtype=np.int64)
seqs[:, 0] = rng.integers(0, VOCAB, size=len(seqs))
for t in range(1, context_length):
    seqs[:, t] = successors[seqs[:, t - 1], rng.integers(0, 4, size=len(seqs))]
tokenized_dataset = [{"input_ids": torch.from_numpy(s)} for s in seqs]

config = GPT2Config(vocab_size=VOCAB, n_ctx=context_length, n_positions=context_length,
                    n_embd=64, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0)
keytoken_ids = list(range(5, 15))


def keytoken_weighted_loss(inputs, logits, keytoken_ids, alpha=1.0):
    shift_labels = inputs[..., 1:].contiguous()
    shift_logits = logits[..., :-1, :].contiguous()
    loss_fct = CrossEntropyLoss(reduction="none")
    loss = loss_fct(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
    loss_per_sample = loss.view(shift_logits.size(0), shift_logits.size(1)).mean(axis=1)
    weights = torch.stack([(inputs == kt).float() for kt in keytoken_ids]).sum(axis=[0, 2])
    weights = alpha * (1.0 + weights)
    weighted_loss = (loss_per_sample * weights).mean()
    return weighted_loss


train_dataloader = DataLoader(tokenized_dataset[:3200], batch_size=8, shuffle=True)

weight_decay = 0.1


def get_grouped_params(model, no_decay=["bias", "LayerNorm.weight"]):
    params_with_wd, params_without_wd = [], []
    for n, p in model.named_parameters():
        if any(nd in n for nd in no_decay):
            params_without_wd.append(p)
        else:
            params_with_wd.append(p)
    return [
        {"params": params_with_wd, "weight_decay": weight_decay},
        {"params": params_without_wd, "weight_decay": 0.0},
    ]


model = GPT2LMHeadModel(config)
optimizer = AdamW(get_grouped_params(model), lr=5e-4)
accelerator = Accelerator(mixed_precision="bf16", cpu=True)
model, optimizer, train_dataloader = accelerator.prepare(model, optimizer, train_dataloader)

num_train_epochs = 1
num_update_steps_per_epoch = len(train_dataloader)
num_training_steps = num_train_epochs * num_update_steps_per_epoch
lr_scheduler = get_scheduler(
    name="linear",
    optimizer=optimizer,
    num_warmup_steps=21,
    num_training_steps=num_training_steps,
)


def get_lr():
    return lr_scheduler.get_last_lr()[0]


samples_per_step = accelerator.state.num_processes * 8
gradient_accumulation_steps = 8

model.train()
completed_steps = 0
for epoch in range(num_train_epochs):
    for step, batch in enumerate(train_dataloader, start=1):
        logits = model(batch["input_ids"]).logits
        loss = keytoken_weighted_loss(batch["input_ids"], logits, keytoken_ids)
        if step % 50 == 0:
            accelerator.print({"lr": get_lr(), "samples": step * samples_per_step,
                               "steps": completed_steps,
                               "loss/train": loss.item() * gradient_accumulation_steps})
        loss = loss / gradient_accumulation_steps
        accelerator.backward(loss)
        if step % gradient_accumulation_steps == 0:
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
            completed_steps += 1
