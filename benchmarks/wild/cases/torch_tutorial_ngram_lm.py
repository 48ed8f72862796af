"""PyTorch tutorial "Word Embeddings: Encoding Lexical Semantics": the N-gram language model
(embedding 10, a 128-unit ReLU layer, log_softmax over the sonnet's vocabulary) trained one trigram
per step with NLLLoss and SGD 0.001 for 10 epochs."""
LABEL = {
    "source": "https://github.com/pytorch/tutorials/blob/main/beginner_source/nlp/word_embeddings_tutorial.py",
    "question": "The tutorial's N-gram language model on Shakespeare's Sonnet 2 ('The loss "
                "decreased every iteration over the training data!').",
    "changes": ["torch 2 API: autograd.Variable dropped, total_loss accumulated with loss.item()",
                "the vocabulary sorted (a set's order changes with the hash seed from run to "
                "run)"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "embedding + MLP (language model)",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights", "vanishing_gradient"],
    "root_cause": None,
    "why": "SGD 0.001 on one trigram per step is too slow for this model: the loss does decrease"
           " every epoch, as the tutorial says, but after 1,130 steps it is 4.43, no better than"
           " the best constant prediction (the target words' frequencies, 4.46); the embeddings "
           "move 7e-6 of their norm per step",
    "measured": {"loss_start": 4.6, "loss_end": 4.43, "best_constant": 4.46,
                 "end_over_best": 0.993, "update_over_w_embeddings": 7.16e-06,
                 "update_over_w_linear2": 0.000822},
}
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(1)

CONTEXT_SIZE = 2
EMBEDDING_DIM = 10
# We will use Shakespeare Sonnet 2
test_sentence = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:
Then being asked, where all thy beauty lies,
Where all the treasure of thy lusty days;
To say, within thine own deep sunken eyes,
Were an all-eating shame, and thriftless praise.
How much more praise deserv'd thy beauty's use,
If thou couldst answer 'This fair child of mine
Shall sum my count, and make my old excuse,'
Proving his beauty by succession thine!
This were to be new made when thou art old,
And see thy blood warm when thou feel'st it cold.""".split()
# build a list of tuples.  Each tuple is ([ word_i-2, word_i-1 ], target word)
trigrams = [([test_sentence[i], test_sentence[i + 1]], test_sentence[i + 2])
            for i in range(len(test_sentence) - 2)]
print(trigrams[:3])

vocab = sorted(set(test_sentence))
word_to_ix = {word: i for i, word in enumerate(vocab)}


class NGramLanguageModeler(nn.Module):

    def __init__(self, vocab_size, embedding_dim, context_size):
        super(NGramLanguageModeler, self).__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 128)
        self.linear2 = nn.Linear(128, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        out = F.relu(self.linear1(embeds))
        out = self.linear2(out)
        log_probs = F.log_softmax(out, dim=1)
        return log_probs


losses = []
loss_function = nn.NLLLoss()
model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
optimizer = optim.SGD(model.parameters(), lr=0.001)

for epoch in range(10):
    total_loss = 0
    for context, target in trigrams:
        # Step 1. Prepare the inputs to be passed to the model
        context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)

        # Step 2. Before passing in a new instance, zero out the gradients from the old instance
        model.zero_grad()

        # Step 3. Run the forward pass, getting log probabilities over next words
        log_probs = model(context_idxs)

        # Step 4. Compute your loss function.
        loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))

        # Step 5. Do the backward pass and update the gradient
        loss.backward()
        optimizer.step()

        total_loss += loss.item()
    losses.append(total_loss)
print(losses)  # The loss decreased every iteration over the training data!
