"""spro/char-rnn.pytorch: a character-level language model (Embedding -> 2-layer GRU, hidden 100
-> Linear over string.printable), trained on random 200-character chunks of a text, batch 100,
with the 200 per-step cross-entropies summed and Adam 0.01 (train.py's defaults)."""
LABEL = {
    "source": "https://github.com/spro/char-rnn.pytorch/blob/master/train.py",
    "question": "Does the README's char-rnn (python train.py shakespeare.txt) learn?",
    "changes": ["helpers.py, model.py, generate.py and train.py in one script; the bundled "
                "pydoc text (_text_data.shakespeare_like) instead of shakespeare.txt, so "
                "read_file returns it without unidecode (not installed)",
                "train.py's argparse defaults kept, parse_args given the file name and "
                "--n_epochs 60 --print_every 20 (60 batches instead of 2,000); loss.data[0] "
                "-> loss.item(); the final torch.save dropped; torch.manual_seed(0), "
                "random.seed(0)"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "RNN (2-layer GRU, character LM)",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "the per-character cross-entropy falls from 3.24 (the first 10% of the 12,000 "
           "calls; best constant, the characters' entropy: 3.06) to 1.86, 0.61x the best "
           "constant, in 60 steps; the summed loss of the 200 steps from 665 to 379; every "
           "tensor moves 0.4-6% of its weight per step (Adam 0.01), no gradient grows more "
           "than 2.6x",
    "measured": {"loss_start": 665.0, "loss_end": 379.0, "best_constant": 3.06, "ce_start": 3.24,
                 "ce_end": 1.86, "end_over_best": 0.608, "update_over_w_min": 0.00427,
                 "update_over_w_max": 0.0619, "grad_growth_max": 2.56},
}
import argparse
import math
import random
import string
import time

import torch
import torch.nn as nn
from torch.autograd import Variable

from _text_data import shakespeare_like

torch.manual_seed(0)
random.seed(0)

# ---------------------------------------------------------------- helpers.py
# Reading and un-unicode-encoding data

all_characters = string.printable
n_characters = len(all_characters)


def read_file(filename):
    file = shakespeare_like()
    return file, len(file)

# Turning a string into a tensor


def char_tensor(string):
    tensor = torch.zeros(len(string)).long()
    for c in range(len(string)):
        try:
            tensor[c] = all_characters.index(string[c])
        except:
            continue
    return tensor

# Readable time elapsed


def time_since(since):
    s = time.time() - since
    m = math.floor(s / 60)
    s -= m * 60
    return '%dm %ds' % (m, s)


# ---------------------------------------------------------------- model.py
class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, model="gru", n_layers=1):
        super(CharRNN, self).__init__()
        self.model = model.lower()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers

        self.encoder = nn.Embedding(input_size, hidden_size)
        if self.model == "gru":
            self.rnn = nn.GRU(hidden_size, hidden_size, n_layers)
        elif self.model == "lstm":
            self.rnn = nn.LSTM(hidden_size, hidden_size, n_layers)
        self.decoder = nn.Linear(hidden_size, output_size)

    def forward(self, input, hidden):
        batch_size = input.size(0)
        encoded = self.encoder(input)
        output, hidden = self.rnn(encoded.view(1, batch_size, -1), hidden)
        output = self.decoder(output.view(batch_size, -1))
        return output, hidden

    def forward2(self, input, hidden):
        encoded = self.encoder(input.view(1, -1))
        output, hidden = self.rnn(encoded.view(1, 1, -1), hidden)
        output = self.decoder(output.view(1, -1))
        return output, hidden

    def init_hidden(self, batch_size):
        if self.model == "lstm":
            return (Variable(torch.zeros(self.n_layers, batch_size, self.hidden_size)),
                    Variable(torch.zeros(self.n_layers, batch_size, self.hidden_size)))
        return Variable(torch.zeros(self.n_layers, batch_size, self.hidden_size))


# ---------------------------------------------------------------- generate.py
def generate(decoder, prime_str='A', predict_len=100, temperature=0.8, cuda=False):
    hidden = decoder.init_hidden(1)
    prime_input = Variable(char_tensor(prime_str).unsqueeze(0))

    if cuda:
        hidden = hidden.cuda()
        prime_input = prime_input.cuda()
    predicted = prime_str

    # Use priming string to "build up" hidden state
    for p in range(len(prime_str) - 1):
        _, hidden = decoder(prime_input[:,p], hidden)

    inp = prime_input[:,-1]

    for p in range(predict_len):
        output, hidden = decoder(inp, hidden)

        # Sample from the network as a multinomial distribution
        output_dist = output.data.view(-1).div(temperature).exp()
        top_i = torch.multinomial(output_dist, 1)[0]

        # Add predicted character to string and use as next input
        predicted_char = all_characters[top_i]
        predicted += predicted_char
        inp = Variable(char_tensor(predicted_char).unsqueeze(0))
        if cuda:
            inp = inp.cuda()

    return predicted


# ---------------------------------------------------------------- train.py
# Parse command line arguments
argparser = argparse.ArgumentParser()
argparser.add_argument('filename', type=str)
argparser.add_argument('--model', type=str, default="gru")
argparser.add_argument('--n_epochs', type=int, default=2000)
argparser.add_argument('--print_every', type=int, default=100)
argparser.add_argument('--hidden_size', type=int, default=100)
argparser.add_argument('--n_layers', type=int, default=2)
argparser.add_argument('--learning_rate', type=float, default=0.01)
argparser.add_argument('--chunk_len', type=int, default=200)
argparser.add_argument('--batch_size', type=int, default=100)
argparser.add_argument('--shuffle', action='store_true')
argparser.add_argument('--cuda', action='store_true')
args = argparser.parse_args(['shakespeare.txt', '--n_epochs', '60', '--print_every', '20'])

if args.cuda:
    print("Using CUDA")

file, file_len = read_file(args.filename)


def random_training_set(chunk_len, batch_size):
    inp = torch.LongTensor(batch_size, chunk_len)
    target = torch.LongTensor(batch_size, chunk_len)
    for bi in range(batch_size):
        start_index = random.randint(0, file_len - chunk_len)
        end_index = start_index + chunk_len + 1
        chunk = file[start_index:end_index]
        inp[bi] = char_tensor(chunk[:-1])
        target[bi] = char_tensor(chunk[1:])
    inp = Variable(inp)
    target = Variable(target)
    if args.cuda:
        inp = inp.cuda()
        target = target.cuda()
    return inp, target


def train(inp, target):
    hidden = decoder.init_hidden(args.batch_size)
    if args.cuda:
        hidden = hidden.cuda()
    decoder.zero_grad()
    loss = 0

    for c in range(args.chunk_len):
        output, hidden = decoder(inp[:,c], hidden)
        loss += criterion(output.view(args.batch_size, -1), target[:,c])

    loss.backward()
    decoder_optimizer.step()

    return loss.item() / args.chunk_len

# Initialize models and start training


decoder = CharRNN(
    n_characters,
    args.hidden_size,
    n_characters,
    model=args.model,
    n_layers=args.n_layers,
)
decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=args.learning_rate)
criterion = nn.CrossEntropyLoss()

if args.cuda:
    decoder.cuda()

start = time.time()
all_losses = []
loss_avg = 0

print("Training for %d epochs..." % args.n_epochs)
for epoch in range(1, args.n_epochs + 1):
    loss = train(*random_training_set(args.chunk_len, args.batch_size))
    loss_avg += loss

    if epoch % args.print_every == 0:
        print('[%s (%d %d%%) %.4f]' % (time_since(start), epoch, epoch / args.n_epochs * 100, loss))
        print(generate(decoder, 'Wh', 100, cuda=args.cuda), '\n')
