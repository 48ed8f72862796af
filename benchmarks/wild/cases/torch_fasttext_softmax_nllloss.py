"""AnubhavGupta3377/Text-Classification-Models-Pytorch, Model_fastText: averaged frozen GloVe
embeddings -> nn.Linear(300, 10) -> nn.Linear(10, 4) -> nn.Softmax(), trained on AG News with
nn.NLLLoss() and SGD(lr=0.5). NLLLoss expects log-probabilities; it is given probabilities, so
the loss is -mean(p_target) (issue 9: "the loss is always negative")."""
LABEL = {
    "source": "https://github.com/AnubhavGupta3377/Text-Classification-Models-Pytorch/issues/9",
    "question": "NLLLoss is given the output of nn.Softmax, not log_softmax, so the loss is "
                "always negative: is the fastText/Transformer text classifier trained right?",
    "changes": ["Model_fastText's config.py, model.py, train.py and utils.evaluate_model in one "
                "script (commit 8571fe6), cpu only; nn.Softmax() given the dim=1 it implied",
                "AG News and glove.840B.300d replaced by a synthetic 4-class corpus of its shape: "
                "4,480 documents of 20-60 tokens over an 8,000-word vocabulary (each class has its "
                "own 500 topic words, 30% of the tokens), 300-d N(0, 0.35) vectors for the words "
                "(a topic's words around a common centre, as GloVe's are), "
                "zero vectors for <unk>/<pad> as torchtext gives; batches of 128 padded to their "
                "longest document as BucketIterator does, (seq_len, batch) like batch.text",
                "6 epochs of 30 batches instead of 30 of ~750 (the lr halving at epochs "
                "max_epochs/3 and 2*max_epochs/3 kept), validation every 100 iterations kept"],
    "pair": "torch_fasttext_log_softmax_nllloss",
    "framework": "torch",
    "category": "confounder",
    "architecture": "fastText (embedding bag + 2 linear, softmax)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "odd but it trains: with probabilities in NLLLoss the loss is -mean(p_target), "
           "negative and bounded by -1, and its gradient p_y(onehot - p) carries no log; still "
           "every optimized layer gets a gradient and moves (update/weight median 0.004-0.046 "
           "per step) and the mean probability of the true class rises from 0.26 to 0.86 in 180 "
           "SGD steps (final training accuracy 99.95%); the log_softmax fix reaches NLL 0.046 "
           "(p = 0.955) on the same data in the same steps, so the bug slows training without "
           "stopping it. The best constant prediction's NLL 1.386 = ln 4 is not comparable with "
           "a loss on probabilities. The frozen GloVe embedding (requires_grad=False, handed to "
           "SGD) is by design: it gets no gradient and no update",
    "measured": {"loss_start": -0.256, "loss_end": -0.863, "best_constant": 1.39,
                 "update_fc1_weight": 0.0129, "update_fc2_weight": 0.00427,
                 "embedding_update": 0.0},
}
import numpy as np
import torch
from sklearn.metrics import accuracy_score
from torch import nn
import torch.optim as optim

torch.manual_seed(0)


# ---------------------------------------------------------------- synthetic AG News + GloVe
def _ag_news_like(n_docs, vocab=8000, n_classes=4, topic=500, seed=0):
    rng = np.random.default_rng(seed)
    docs, labels = [], []
    for i in range(n_docs):
        c = i % n_classes
        length = rng.integers(20, 61)
        common = rng.integers(2 + n_classes * topic, vocab, size=length)
        topical = rng.integers(2 + c * topic, 2 + (c + 1) * topic, size=length)
        pick = rng.random(length) < 0.3
        docs.append(np.where(pick, topical, common))
        labels.append(c + 1)  # AG News labels are 1..4 (__label__1 ...)
    order = rng.permutation(n_docs)
    return [docs[i] for i in order], np.array(labels)[order]


class _Batch:
    def __init__(self, text, label):
        self.text, self.label = text, label


def _iterator(docs, labels, batch_size, shuffle, seed):
    def it():
        rng = np.random.default_rng(seed + it.epoch)
        it.epoch += 1
        idx = rng.permutation(len(docs)) if shuffle else np.arange(len(docs))
        for s in range(0, len(idx), batch_size):
            b = idx[s:s + batch_size]
            L = max(len(docs[i]) for i in b)
            text = torch.ones(L, len(b), dtype=torch.long)  # <pad> = 1
            for j, i in enumerate(b):
                text[:len(docs[i]), j] = torch.from_numpy(docs[i])
            yield _Batch(text, torch.from_numpy(labels[b]))
    it.epoch = 0
    return it


class Dataset(object):
    def __init__(self, config):
        self.config = config

    def load_data(self):
        docs, labels = _ag_news_like(4480)
        self.vocab = list(range(8000))
        g = torch.Generator().manual_seed(1)
        self.word_embeddings = torch.randn(8000, 300, generator=g) * 0.35
        # words of one topic lie near each other, as GloVe's do
        centres = torch.randn(4, 300, generator=g)
        for c in range(4):
            rows = slice(2 + c * 500, 2 + (c + 1) * 500)
            self.word_embeddings[rows] = 0.35 * (0.6 * centres[c] + 0.8 * torch.randn(
                500, 300, generator=g))
        self.word_embeddings[:2] = 0.0  # <unk>, <pad>: torchtext's zero init
        n_train = 3840
        self._train = _iterator(docs[:n_train], labels[:n_train], self.config.batch_size, True, 0)
        self._val = _iterator(docs[n_train:], labels[n_train:], self.config.batch_size, False, 0)

    @property
    def train_iterator(self):
        return self._train()

    @property
    def val_iterator(self):
        return self._val()


def evaluate_model(model, iterator):
    all_preds = []
    all_y = []
    for idx, batch in enumerate(iterator):
        x = batch.text
        y_pred = model(x)
        predicted = torch.max(y_pred.cpu().data, 1)[1] + 1
        all_preds.extend(predicted.numpy())
        all_y.extend(batch.label.numpy())
    score = accuracy_score(all_y, np.array(all_preds).flatten())
    return score


# ---------------------------------------------------------------- config.py
class Config(object):
    embed_size = 300
    hidden_size = 10
    output_size = 4
    max_epochs = 6
    lr = 0.5
    batch_size = 128


# ---------------------------------------------------------------- model.py
class fastText(nn.Module):
    def __init__(self, config, vocab_size, word_embeddings):
        super(fastText, self).__init__()
        self.config = config

        # Embedding Layer
        self.embeddings = nn.Embedding(vocab_size, self.config.embed_size)
        self.embeddings.weight = nn.Parameter(word_embeddings, requires_grad=False)

        # Hidden Layer
        self.fc1 = nn.Linear(self.config.embed_size, self.config.hidden_size)

        # Output Layer
        self.fc2 = nn.Linear(self.config.hidden_size, self.config.output_size)

        # Softmax non-linearity
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        embedded_sent = self.embeddings(x).permute(1, 0, 2)
        h = self.fc1(embedded_sent.mean(1))
        z = self.fc2(h)
        return self.softmax(z)

    def add_optimizer(self, optimizer):
        self.optimizer = optimizer

    def add_loss_op(self, loss_op):
        self.loss_op = loss_op

    def reduce_lr(self):
        print("Reducing LR")
        for g in self.optimizer.param_groups:
            g['lr'] = g['lr'] / 2

    def run_epoch(self, train_iterator, val_iterator, epoch):
        train_losses = []
        val_accuracies = []
        losses = []

        # Reduce learning rate as number of epochs increase
        if (epoch == int(self.config.max_epochs/3)) or (epoch == int(2*self.config.max_epochs/3)):
            self.reduce_lr()

        for i, batch in enumerate(train_iterator):
            self.optimizer.zero_grad()
            x = batch.text
            y = (batch.label - 1).type(torch.LongTensor)
            y_pred = self.__call__(x)
            loss = self.loss_op(y_pred, y)
            loss.backward()
            losses.append(loss.data.cpu().numpy())
            self.optimizer.step()

            if i % 100 == 0:
                print("Iter: {}".format(i+1))
                avg_train_loss = np.mean(losses)
                train_losses.append(avg_train_loss)
                print("\tAverage training loss: {:.5f}".format(avg_train_loss))
                losses = []

                # Evalute Accuracy on validation set
                val_accuracy = evaluate_model(self, val_iterator)
                print("\tVal Accuracy: {:.4f}".format(val_accuracy))
                self.train()

        return train_losses, val_accuracies


# ---------------------------------------------------------------- train.py
if __name__ == '__main__':
    config = Config()
    dataset = Dataset(config)
    dataset.load_data()

    model = fastText(config, len(dataset.vocab), dataset.word_embeddings)
    model.train()
    optimizer = optim.SGD(model.parameters(), lr=config.lr)
    NLLLoss = nn.NLLLoss()
    model.add_optimizer(optimizer)
    model.add_loss_op(NLLLoss)

    train_losses = []
    val_accuracies = []

    for i in range(config.max_epochs):
        print("Epoch: {}".format(i))
        train_loss, val_accuracy = model.run_epoch(dataset.train_iterator, dataset.val_iterator, i)
        train_losses.append(train_loss)
        val_accuracies.append(val_accuracy)

    train_acc = evaluate_model(model, dataset.train_iterator)
    val_acc = evaluate_model(model, dataset.val_iterator)
    print('Final Training Accuracy: {:.4f}'.format(train_acc))
    print('Final Validation Accuracy: {:.4f}'.format(val_acc))
