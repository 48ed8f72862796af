"""brennancheung/CourseAI notebook 4-4-1 "Finetuning for Classification": GPT-2's transformer
backbone with its lm_head replaced by nn.Linear(n_embd, 2) on the last real token's hidden state;
exercise 4 freezes the whole backbone (requires_grad=False) and trains the head with
AdamW(model.classifier.parameters(), lr=1e-3) for 5 epochs; exercise 5 takes a fresh model,
unfreezes the last 2 blocks and trains with differential learning rates (AdamW groups: 1e-5 for
each unfrozen block, 1e-3 for the head) for 3 epochs. CrossEntropyLoss, batches of 32."""
LABEL = {
    "source": "https://github.com/brennancheung/CourseAI/blob/main/notebooks/4-4-1-finetuning-for-classification.ipynb",
    "question": "A course's frozen-backbone GPT-2 classifier, then partial unfreezing with a 100x "
                "smaller learning rate for the unfrozen blocks: do both phases train?",
    "changes": ["GPT2LMHeadModel(GPT2Config(n_layer=4, n_embd=128, n_head=4, n_positions=64)) "
                "instead of GPT2LMHeadModel.from_pretrained('gpt2') (a download; 12 x 768): the "
                "backbone is randomly initialized, so its frozen features are random but "
                "input-dependent; the head is nn.Linear(128, 2) (the notebook hard-codes 768 = "
                "n_embd); the unfrozen blocks are h[2], h[3] (the last 2 of 4, as [10, 11] of 12)",
                "SST-2 (2,000 sentences, tiktoken, padded to 64 with 50256 and an attention "
                "mask) -> 480 seeded sentences (15 batches an epoch: 75 frozen-phase and 45 unfrozen-phase steps) of 5-40 Zipf-like token ids from "
                "_wild_data.imdb_like with a label-dependent band, padded the same way",
                "the notebook's solution code for the TODOs; validation, plots and text "
                "generation dropped; torch.manual_seed(42)"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "GPT-2 backbone + linear head (frozen, then partly unfrozen)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "both phases learn: the frozen-backbone head takes the CE from 0.70 to 0.40 (best constant 0.689, end/best 0.58) in 75 steps; the fresh model with h[2], h[3] unfrozen at lr 1e-5 goes 0.66 -> 0.40 in 45 steps. At the fresh model's first forward the residual stream's rms is 0.019 (wte) -> 0.035 -> 0.042 -> 0.046 (h.2) -> 0.051 (h.3), ln_f's output 1.0: nothing collapses; |g|/|w| at step 0 is 3.3-3.9 for the c_proj weights (GPT-2's 0.02/sqrt(2 n_layer) init, deliberately small because they add into the residual stream), 0.26-0.44 for c_attn/c_fc, 2.5 for the head; unfrozen blocks move 2e-4..7e-4 of their norm per step (LayerNorm weights 4e-6 at lr 1e-5, as AdamW gives)",
    "measured": {'frozen_phase_loss_start': 0.703, 'frozen_phase_loss_end': 0.399, 'best_constant': 0.689, 'unfrozen_phase_loss_epoch1': 0.66, 'unfrozen_phase_loss_epoch3': 0.401, 'residual_rms_wte': 0.0188, 'residual_rms_h3': 0.0513, 'ln_f_rms': 0.998, 'c_proj_g_over_w_step0': 3.9, 'c_proj_weight_std': 0.007, 'c_proj_update_ratio': 0.00068, 'ln_weight_update_ratio': 4.8e-06},
}
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from transformers import GPT2Config, GPT2LMHeadModel

from _wild_data import imdb_like

torch.manual_seed(42)
np.random.seed(42)
device = torch.device("cpu")

PAD_TOKEN = 50256
MAX_LENGTH = 64
config = GPT2Config(n_layer=4, n_embd=128, n_head=4, n_positions=64)


def load_gpt2():
    return GPT2LMHeadModel(config)


class GPT2ForClassification(nn.Module):
    def __init__(self, hf_model, num_classes):
        super().__init__()
        self.transformer = hf_model.transformer
        self.classifier = nn.Linear(config.n_embd, num_classes)

    def forward(self, input_ids, attention_mask=None):
        outputs = self.transformer(input_ids, attention_mask=attention_mask)
        hidden_states = outputs.last_hidden_state
        if attention_mask is not None:
            seq_lengths = attention_mask.sum(dim=1) - 1
            last_hidden = hidden_states[
                torch.arange(hidden_states.size(0), device=hidden_states.device),
                seq_lengths
            ]
        else:
            last_hidden = hidden_states[:, -1, :]
        logits = self.classifier(last_hidden)
        return logits


class SST2Dataset(Dataset):
    def __init__(self, n, max_length, seed):
        words, labels = imdb_like(n=n, maxlen=40, vocab=50257, seed=seed)
        lengths = np.random.default_rng(seed).integers(5, 41, size=n)
        self.input_ids, self.attention_masks = [], []
        for row, length in zip(words, lengths):
            token_ids = [int(t) for t in row[:length]][:max_length]
            padding_needed = max_length - len(token_ids)
            attention_mask = [1] * len(token_ids) + [0] * padding_needed
            token_ids = token_ids + [PAD_TOKEN] * padding_needed
            self.input_ids.append(torch.tensor(token_ids, dtype=torch.long))
            self.attention_masks.append(torch.tensor(attention_mask, dtype=torch.long))
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.input_ids[idx], self.attention_masks[idx], self.labels[idx]


train_dataset = SST2Dataset(480, MAX_LENGTH, seed=0)
train_loader = DataLoader(train_dataset, batch_size=32, shuffle=True)

# Exercise 2: frozen backbone + head
hf_model = load_gpt2()
num_classes = 2
model = GPT2ForClassification(hf_model, num_classes).to(device)
for param in model.transformer.parameters():
    param.requires_grad = False

# Exercise 4: train the head
optimizer = torch.optim.AdamW(model.classifier.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()
num_epochs = 5
for epoch in range(num_epochs):
    model.train()
    running_loss, correct, total = 0.0, 0, 0
    for input_ids, attention_mask, labels in train_loader:
        logits = model(input_ids, attention_mask)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * input_ids.size(0)
        _, predicted = torch.max(logits, dim=1)
        correct += (predicted == labels).sum().item()
        total += labels.size(0)
    print(f"Frozen epoch {epoch+1}/{num_epochs}  Train Loss: {running_loss/total:.4f}  "
          f"Train Acc: {correct/total:.1%}")

# Exercise 5: fresh model, last 2 blocks unfrozen, differential learning rates
hf_model_fresh = load_gpt2()
model_unfrozen = GPT2ForClassification(hf_model_fresh, num_classes=2).to(device)
for param in model_unfrozen.transformer.parameters():
    param.requires_grad = False
for block_idx in [2, 3]:
    for param in model_unfrozen.transformer.h[block_idx].parameters():
        param.requires_grad = True
optimizer_unfrozen = torch.optim.AdamW([
    {'params': model_unfrozen.transformer.h[2].parameters(), 'lr': 1e-5},
    {'params': model_unfrozen.transformer.h[3].parameters(), 'lr': 1e-5},
    {'params': model_unfrozen.classifier.parameters(), 'lr': 1e-3},
])
criterion = nn.CrossEntropyLoss()
for epoch in range(3):
    model_unfrozen.train()
    running_loss, total = 0.0, 0
    for input_ids, attention_mask, labels in train_loader:
        logits = model_unfrozen(input_ids, attention_mask)
        loss = criterion(logits, labels)
        optimizer_unfrozen.zero_grad()
        loss.backward()
        optimizer_unfrozen.step()
        running_loss += loss.item() * input_ids.size(0)
        total += input_ids.size(0)
    print(f"Unfrozen epoch {epoch+1}/3  Loss: {running_loss/total:.4f}")
