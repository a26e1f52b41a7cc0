# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Assignment 12 — NLP preprocessing and word embeddings
#
# Lecture 12 compared three tokenizers, reproduced scikit-learn's `TfidfVectorizer` from a count matrix, built
# skip-gram pairs for «Маленькой ёлочке холодно зимой.», trained word2vec with negative sampling and answered
# analogies. In this assignment you write the pieces of that pipeline yourself, in English and in Russian:
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `tokenize`: a tokenizer with stated rules for abbreviations, numbers, hyphens and apostrophes | 2 |
# | 2 | `fit_tfidf` and `transform_tfidf`: TF-IDF from token lists, equal to scikit-learn's | 2 |
# | 3 | `skipgram_pairs`: (centre, context) pairs with word2vec's dynamic window | 2 |
# | 4 | `negative_sampling_loss`: the skip-gram loss with negative sampling, stable for huge scores | 2 |
# | 5 | `most_similar`: nearest neighbours and analogies by cosine similarity (3CosAdd) | 2 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a locked test cell. The tests you see there are small
# examples you can check by hand: run them as often as you like. When your notebook is graded, a grader
# outside your notebook calls your functions on many random cases of its own (random English and Russian
# sentences, random corpora with empty documents and unseen words, other window sizes and seeds, float32 and
# float64 vectors with huge dot products, random embeddings with tied scores) and compares the results with its own
# reference. A part scores its points only if all of its checks pass: make your code correct for every input the
# instructions allow, not just for the examples.
#
# Some more rules:
#
# - The parts are graded independently: a part you skip costs only its own points.
# - Do not rename the functions or change their arguments, and do not edit the test cells.
# - Your functions must not modify their inputs.
# - Code that interferes with grading (rebinding library functions, reading other files) sends the
#   submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook runs in a few seconds.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import collections
import math
import re

import torch
from torch.nn import functional as F

from course_utils import choose_device

# Everything here is small: one thread is fastest on a busy CPU.
choice = choose_device(cpu_threads=1)
print(choice.summary())

# The abbreviations Part 1 keeps as one token (lower case, with their dots).
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "dr.", "т.е.", "т.к.", "т.д.", "т.п.", "г.", "руб.", "др.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — A tokenizer with stated rules (2 points)
#
# The lecture showed that every tokenizer is a convention: a regular expression cuts *Mr.* and *3.50* apart,
# NLTK splits *didn't*, razdel does not know *Jan.*. Here is one precise convention. Write a tokenizer that
# follows it exactly.
#
# **`tokenize(text, abbreviations=ABBREVIATIONS)`** returns the list of tokens (strings) of `text`:
#
# 1. Lower-case the whole text first (`str.lower()`; «Ё» becomes «ё»). All tokens are lower case.
# 2. Read the text from left to right. Skip whitespace (every character for which `str.isspace()` is true).
#    At each other position, the next token is the first of these that matches **at this position**:
#    1. **an abbreviation** of the list `abbreviations` (given in lower case, each ending with a dot, e.g. `"e.g."`,
#       `"т.е."`, `"dr."`), exactly as written in the list; when several match, the longest one;
#    2. **a number**: one or more digits `0`–`9`, optionally followed by *one* separator `.` or `,` and one or
#       more digits: `3.14`, `1,5`, `2024` are one token each; `3.14.15` is `3.14`, `.`, `15`; `10.` is `10`, `.`;
#    3. **a word**: one or more letters, optionally followed by groups of *one* hyphen `-` or apostrophe `'` (the
#       ASCII characters) and one or more letters: `well-known`, `don't`, `o'neill`, `кто-то`,
#       `санкт-петербург`. Letters are the Latin `a`–`z` and the Cyrillic `а`–`я` and `ё` (note that `ё` is not
#       in the range `а-я`). `well--known` is `well`, `-`, `-`, `known`; `mp3` is `mp`, `3`;
#    4. otherwise **one character**, whatever it is (punctuation, a symbol, a letter of another alphabet), is a
#       token on its own: `«`, `—`, `:`, `)`, `$`.
#
#    The token ends where its match ends, and the reading continues after it.
#
# So `"Dr. O'Neill paid 3.50, i.e. not much!"` gives `dr.` · `o'neill` · `paid` · `3.50` · `,` · `i.e.` · `not` ·
# `much` · `!`, and an empty text gives `[]`. A regular expression with alternatives in this order
# (`re.findall`) implements these rules; so does a loop over the characters.

# %% nbgrader={"grade": false, "grade_id": "tokenize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def tokenize(text: str, abbreviations: tuple[str, ...] = ABBREVIATIONS) -> list[str]:
    """The tokens of `text`, lower case: abbreviations, numbers, words, then single characters."""
    ### BEGIN SOLUTION
    longest_first = sorted(abbreviations, key=len, reverse=True)
    pattern = "|".join([re.escape(a) for a in longest_first]
                       + [r"[0-9]+(?:[.,][0-9]+)?", r"[a-zа-яё]+(?:[-'][a-zа-яё]+)*", r"\S"])
    return re.findall(pattern, text.lower())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_tokenize", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T


def check_tokens(text, expected, why, **options):
    got = tokenize(text, **options)
    T.assert_type(got, list, f"tokenize({text!r})")
    assert got == expected, f"tokenize({text!r}): {why}\n  expected {expected}\n  got      {got}"


# The notes' sentence, and an empty text
check_tokens("Маленькой ёлочке холодно зимой.", ["маленькой", "ёлочке", "холодно", "зимой", "."],
             "lower case; the final dot is a token of its own; «ё» is a letter")
check_tokens("", [], "an empty text has no tokens")
check_tokens("  \n\t ", [], "whitespace is never a token")
# Abbreviations keep their dots; other words ending in a dot do not
check_tokens("Dr. O'Neill paid 3.50, i.e. not much!",
             ["dr.", "o'neill", "paid", "3.50", ",", "i.e.", "not", "much", "!"],
             "'dr.' and 'i.e.' are in ABBREVIATIONS (one token each); '3.50' is a number; the apostrophe is inside a word")
check_tokens("Т.е. кто-то купил ёлку за 1,5 тыс. руб.",
             ["т.е.", "кто-то", "купил", "ёлку", "за", "1,5", "тыс", ".", "руб."],
             "'т.е.' and 'руб.' are abbreviations, 'тыс.' is not in the list; '1,5' is one number")
check_tokens("e.g.: etc.)", ["e.g.", ":", "etc.", ")"], "an abbreviation followed directly by punctuation")
# Numbers: at most one inner separator
check_tokens("3.14.15 1,000,000 10. .5", ["3.14", ".", "15", "1,000", ",", "000", "10", ".", ".", "5"],
             "a number has at most one separator, with digits on both sides")
# Words: single inner hyphens and apostrophes; letters and digits do not mix
check_tokens("well--known -кто-то- don't 'quoted'", ["well", "-", "-", "known", "-", "кто-то", "-", "don't", "'",
                                                     "quoted", "'"],
             "a hyphen or apostrophe belongs to a word only between two letters")
check_tokens("mp3 ЁЛКА «ёлка»—2024 :)", ["mp", "3", "ёлка", "«", "ёлка", "»", "—", "2024", ":", ")"],
             "letters and digits are separate tokens; any other character is a token of its own")
check_tokens("Café α_β ٣٤ x²", ["caf", "é", "α", "_", "β", "٣", "٤", "x", "²"],
             "only a-z, а-я and ё are letters and only 0-9 digits: é, α, _, ٣ (an Arabic-Indic three) and ² are "
             "tokens of their own")
# Another list of abbreviations; the longest match wins
check_tokens("See fig. 3, т.е.", ["see", "fig.", "3", ",", "т", ".", "е", "."],
             "with abbreviations=['fig.'] only 'fig.' is kept whole", abbreviations=["fig."])
check_tokens("т.е. т.", ["т.е.", "т."], "with abbreviations=['т.', 'т.е.'] the longest match wins",
             abbreviations=["т.", "т.е."])

print("✓ Part 1: tokenize passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — TF-IDF equal to scikit-learn's (2 points)
#
# The lecture computed TF-IDF from a count matrix. Now write the whole vectorizer, fit and transform, on documents
# that are already tokenised (lists of strings), with the options of `TfidfVectorizer(smooth_idf=True, norm="l2")`
# and `sublinear_tf` either way. For $N$ training documents, $\operatorname{df}(t)$ the number of training
# documents that contain the token $t$ and $c_{t,d}$ the number of times $t$ occurs in document $d$:
#
# $$ \operatorname{idf}(t) = \ln\frac{1 + N}{1 + \operatorname{df}(t)} + 1, \qquad
#    \operatorname{tf}(t, d) = \begin{cases} c_{t,d} & \text{sublinear\_tf false} \\
#    1 + \ln c_{t,d} \text{ if } c_{t,d} > 0, \text{ else } 0 & \text{sublinear\_tf true} \end{cases} $$
#
# and the row of document $d$ is $\operatorname{tf}(t, d)\operatorname{idf}(t)$ over the vocabulary, divided by
# its Euclidean norm (a row of zeros stays zeros).
#
# **`fit_tfidf(docs, sublinear_tf=False)`** learns from the training documents `docs` (a list of lists of tokens;
# some documents may be empty, but at least one token occurs) and returns a dict, the *state*:
# - `"vocabulary"`: a dict from each distinct token of `docs` to its column; the columns are the tokens in
#   sorted order (`sorted()` of Python strings), numbered from 0, as in scikit-learn;
# - `"idf"`: a float64 tensor of shape `(V,)`, the idf of each column;
# - `"sublinear_tf"`: the option, a bool.
#
# **`transform_tfidf(state, docs)`** returns the `(len(docs), V)` float64 tensor of TF-IDF rows of any documents
# (also empty ones, and tokens the vocabulary does not know, which are ignored). It uses only `state`, so that it
# also works with a state the grader writes itself.
#
# Write it with Python and PyTorch: `sklearn` is not allowed in your answer (it is fine in your own experiments; the
# test cell compares with it when it is installed).

# %% nbgrader={"grade": false, "grade_id": "tfidf", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fit_tfidf(docs: list[list[str]], sublinear_tf: bool = False) -> dict:
    """The state {"vocabulary", "idf", "sublinear_tf"} learned from tokenised training documents."""
    ### BEGIN SOLUTION
    vocabulary = {token: column for column, token in enumerate(sorted({t for doc in docs for t in doc}))}
    df = torch.zeros(len(vocabulary), dtype=torch.float64)
    for doc in docs:
        for token in set(doc):
            df[vocabulary[token]] += 1
    idf = torch.log((1 + len(docs)) / (1 + df)) + 1
    return {"vocabulary": vocabulary, "idf": idf, "sublinear_tf": bool(sublinear_tf)}
    ### END SOLUTION


def transform_tfidf(state: dict, docs: list[list[str]]) -> torch.Tensor:
    """(len(docs), V) float64 TF-IDF rows, each of Euclidean norm 1 (or all zeros)."""
    ### BEGIN SOLUTION
    vocabulary, idf = state["vocabulary"], state["idf"].double()
    counts = torch.zeros(len(docs), len(vocabulary), dtype=torch.float64)
    for row, doc in enumerate(docs):
        for token, count in collections.Counter(doc).items():
            if token in vocabulary:
                counts[row, vocabulary[token]] = count
    tf = torch.where(counts > 0, 1 + torch.log(counts.clamp(min=1)), 0.0) if state["sublinear_tf"] else counts
    weights = tf * idf
    norms = weights.norm(dim=1, keepdim=True)
    return torch.where(norms > 0, weights / norms.clamp(min=1e-300), 0.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_tfidf", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T  # noqa: F811 (each test cell imports what it uses)

# By hand: N = 3 documents, the third one empty
docs = [["the", "cat", "sat", "the"], ["the", "dog"], []]
state = fit_tfidf(docs)
T.assert_type(state, dict, "fit_tfidf(docs)")
assert state["vocabulary"] == {"cat": 0, "dog": 1, "sat": 2, "the": 3}, (
    f"the columns are the sorted distinct tokens: expected {{'cat': 0, 'dog': 1, 'sat': 2, 'the': 3}}, "
    f"got {state['vocabulary']}")
T.assert_type(state["idf"], torch.Tensor, "state['idf']")
assert state["idf"].dtype == torch.float64, f"the idf is float64, got {state['idf'].dtype}"
assert state["sublinear_tf"] is False, "the state remembers sublinear_tf (False by default)"
# df(cat) = df(dog) = df(sat) = 1, df(the) = 2 (it occurs twice in one document but in two documents)
rare, common = math.log(4 / 2) + 1, math.log(4 / 3) + 1
T.assert_close(state["idf"], [rare, rare, rare, common],
               name="idf = ln((1 + N) / (1 + df)) + 1 with N = 3 (the empty document counts), df = documents")

matrix = transform_tfidf(state, docs)
T.assert_type(matrix, torch.Tensor, "transform_tfidf(state, docs)")
assert matrix.shape == (3, 4) and matrix.dtype == torch.float64, f"expected a (3, 4) float64 tensor, got {matrix.shape}, {matrix.dtype}"
row = torch.tensor([rare, 0.0, rare, 2 * common], dtype=torch.float64)  # cat, dog, sat, the (twice)
T.assert_close(matrix[0], row / row.norm(), name="document 0: counts times idf, divided by the Euclidean norm")
T.assert_close(matrix[2], [0.0] * 4, name="an empty document is a row of zeros (no division by zero)")
T.assert_close(transform_tfidf(state, [["unseen", "words"], ["dog", "unseen"]]), [[0.0] * 4, [0.0, 1.0, 0.0, 0.0]],
               name="tokens the vocabulary does not know are ignored")

sublinear = fit_tfidf(docs, sublinear_tf=True)
assert sublinear["sublinear_tf"] is True, "fit_tfidf(docs, sublinear_tf=True) stores the option"
row = torch.tensor([rare, 0.0, rare, (1 + math.log(2)) * common], dtype=torch.float64)
T.assert_close(transform_tfidf(sublinear, docs)[0], row / row.norm(), name="sublinear tf: 1 + ln(count)")

# A state written by hand: transform_tfidf uses only what the state says
handmade = {"vocabulary": {"ёлка": 0, "зима": 1}, "idf": torch.tensor([2.0, 1.0], dtype=torch.float64),
            "sublinear_tf": False}
T.assert_close(transform_tfidf(handmade, [["ёлка", "зима", "зима"]]), [[0.7071067811865476, 0.7071067811865476]],
               name="a hand-made state: tf * idf = (2, 2), normalised")
assert docs == [["the", "cat", "sat", "the"], ["the", "dog"], []], "do not modify the documents"

# Against scikit-learn, when it is installed (the grader does this, and much more)
try:
    from sklearn.feature_extraction.text import TfidfVectorizer
except ImportError:
    TfidfVectorizer = None
if TfidfVectorizer is not None:
    corpus = [["маленькой", "ёлочке", "холодно", "зимой"], ["ёлочке", "ёлочке", "тепло"], [], ["зимой", "холодно"]]
    for option in (False, True):
        reference = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=option).fit(corpus)
        ours = fit_tfidf(corpus, sublinear_tf=option)
        assert ours["vocabulary"] == reference.vocabulary_, "the vocabulary differs from scikit-learn's"
        new = [["зимой", "зимой", "снег"], []]
        T.assert_close(transform_tfidf(ours, new), reference.transform(new).toarray(),
                       name=f"TfidfVectorizer(sublinear_tf={option}) on new documents")

print("✓ Part 2: fit_tfidf and transform_tfidf pass the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — Skip-gram pairs with a dynamic window (2 points)
#
# The lecture paired every centre word with every word at most `window` positions away. word2vec draws, for each
# centre, a **reduced window** $b$ uniformly from $1, \dots, \text{window}$ and uses only the words at most $b$
# positions away, so that near neighbours are paired more often than far ones.
#
# **`skipgram_pairs(token_ids, window, generator)`**
# - `token_ids` is a 1-D int64 tensor: the word ids of one sentence, of length $n \ge 0$; `window` $\ge 1$ is an int;
#   `generator` is a `torch.Generator`.
# - First draw all the reduced windows with **one** call,
#   `torch.randint(1, window + 1, (n,), generator=generator)` (entry $i$ is the $b_i$ of position $i$); draw nothing
#   else from the generator.
# - The pairs are, for each centre position $i = 0, 1, \dots, n-1$ in turn, and for each context position $j$ from
#   $i - b_i$ to $i + b_i$ in increasing order, skipping $j = i$ (a word is never its own context) and positions
#   outside the sentence: `(token_ids[i], token_ids[j])`.
# - Return them as an int64 tensor of shape `(P, 2)`: column 0 the centre ids, column 1 the context ids. No pairs
#   (for $n \le 1$) is a `(0, 2)` tensor.

# %% nbgrader={"grade": false, "grade_id": "skipgram", "locked": false, "schema_version": 3, "solution": true, "task": false}
def skipgram_pairs(token_ids: torch.Tensor, window: int, generator: torch.Generator) -> torch.Tensor:
    """(P, 2) int64 (centre, context) pairs with word2vec's dynamic window, in the stated order."""
    ### BEGIN SOLUTION
    n = len(token_ids)
    reach = torch.randint(1, window + 1, (n,), generator=generator).tolist()
    ids = token_ids.tolist()
    pairs = [(ids[i], ids[j]) for i in range(n) for j in range(max(0, i - reach[i]), min(n, i + reach[i] + 1))
             if j != i]
    return torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_skipgram", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# The notes' sentence: 0 маленькой, 1 ёлочке, 2 холодно, 3 зимой
sentence = torch.tensor([0, 1, 2, 3])
# window = 1: every reduced window is 1, nothing is random
pairs = skipgram_pairs(sentence, 1, torch.Generator().manual_seed(0))
T.assert_type(pairs, torch.Tensor, "skipgram_pairs(...)")
assert pairs.dtype == torch.int64 and pairs.dim() == 2 and pairs.shape[1] == 2, (
    f"the pairs are an int64 tensor of shape (P, 2), got {pairs.dtype} of shape {tuple(pairs.shape)}")
assert all(c != o for c, o in pairs.tolist()), "a word is never its own context (skip j = i)"
assert pairs.tolist() == [[0, 1], [1, 0], [1, 2], [2, 1], [2, 3], [3, 2]], (
    f"window 1: each word with its direct neighbours, centre by centre, contexts left to right; got {pairs.tolist()}")

# window = 2 with seed 0: torch.randint(1, 3, (4,), generator=...) draws b = [1, 2, 2, 1]
generator = torch.Generator().manual_seed(0)
pairs = skipgram_pairs(sentence, 2, generator)
expected = [[0, 1],                     # маленькой (b = 1): ёлочке
            [1, 0], [1, 2], [1, 3],     # ёлочке (b = 2): маленькой, холодно, зимой
            [2, 0], [2, 1], [2, 3],     # холодно (b = 2): маленькой, ёлочке, зимой
            [3, 2]]                     # зимой (b = 1): холодно
assert pairs.tolist() == expected, f"window 2, seed 0 (b = [1, 2, 2, 1]): expected {expected}, got {pairs.tolist()}"
after_one_draw = torch.Generator().manual_seed(0)
torch.randint(1, 3, (4,), generator=after_one_draw)
assert torch.equal(generator.get_state(), after_one_draw.get_state()), (
    "draw the reduced windows with exactly one call torch.randint(1, window + 1, (n,), generator=generator)")

# Word ids, not positions; a word may occur twice; the pairs of a one-word or empty sentence
pairs = skipgram_pairs(torch.tensor([7, 5, 7]), 1, torch.Generator().manual_seed(1))
assert pairs.tolist() == [[7, 5], [5, 7], [5, 7], [7, 5]], f"the pairs hold the ids of the words, got {pairs.tolist()}"
for ids in (torch.tensor([4]), torch.zeros(0, dtype=torch.int64)):
    none = skipgram_pairs(ids, 3, torch.Generator().manual_seed(0))
    assert none.shape == (0, 2) and none.dtype == torch.int64, f"no pairs: a (0, 2) int64 tensor, got {tuple(none.shape)}"

# A long sentence: every pair within the window, and on average more near pairs than far ones
long = torch.arange(2000)
pairs = skipgram_pairs(long, 5, torch.Generator().manual_seed(2))
distance = (pairs[:, 1] - pairs[:, 0]).abs()
assert int(distance.min()) >= 1 and int(distance.max()) <= 5, "contexts are between 1 and window positions away"
assert int(distance.max()) == 5, "the reduced window can be as large as window (randint's upper bound is exclusive)"
share = [(distance == d).float().mean().item() for d in range(1, 6)]
assert share == sorted(share, reverse=True), f"near contexts are drawn more often than far ones, got shares {share}"

print("✓ Part 3: skipgram_pairs passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — The negative-sampling loss (2 points)
#
# In the lecture's notation, a centre word $c$ has the vector $v_c$, its real context word $o$ the context vector
# $u_o$, and the $K$ negative words $w_1, \dots, w_K$ the context vectors $u_{w_k}$. The loss of one pair is
#
# $$ \ell = -\log \sigma\big(u_o^\top v_c\big) - \sum_{k=1}^{K} \log \sigma\big(-u_{w_k}^\top v_c\big). $$
#
# **`negative_sampling_loss(centre_vectors, context_vectors, negative_vectors)`**
# - `centre_vectors` holds the $v_c$ of a batch, shape `(B, D)`; `context_vectors` the $u_o$, shape `(B, D)`;
#   `negative_vectors` the $u_{w_k}$, shape `(B, K, D)`, with $B \ge 1$ and $K \ge 0$ ($K = 0$: the first term only).
#   All three have the same floating dtype (float32 or float64).
# - Return the **mean** of $\ell$ over the batch, a 0-dimensional tensor of that dtype, differentiable with respect to
#   all three inputs (autograd computes the gradient; the grader compares it with its own).
# - It must stay finite for huge dot products (thousands, either sign): `torch.log(torch.sigmoid(x))` rounds to
#   $\log 0 = -\infty$ there. Use `F.logsigmoid`, which computes $\log\sigma(x)$ stably.

# %% nbgrader={"grade": false, "grade_id": "ns_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def negative_sampling_loss(centre_vectors: torch.Tensor, context_vectors: torch.Tensor,
                           negative_vectors: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c); a 0-dimensional tensor."""
    ### BEGIN SOLUTION
    positive = (context_vectors * centre_vectors).sum(-1)  # (B,)
    negative = (negative_vectors * centre_vectors[:, None, :]).sum(-1)  # (B, K)
    return -(F.logsigmoid(positive) + F.logsigmoid(-negative).sum(-1)).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ns_loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# All vectors zero: each of the 1 + K sigmoids is 1/2, so the loss is (1 + K) log 2 (K = 5: the lecture's 6 log 2)
B, K, D = 3, 5, 4
loss = negative_sampling_loss(torch.zeros(B, D), torch.zeros(B, D), torch.zeros(B, K, D))
T.assert_type(loss, torch.Tensor, "negative_sampling_loss(...)")
assert loss.dim() == 0, f"the loss is a 0-dimensional tensor (the mean over the batch), got shape {tuple(loss.shape)}"
T.assert_close(loss, 6 * math.log(2), name="zero vectors, K = 5: 6 log 2")

# By hand, B = 1, D = 1: u_o·v_c = 2 and one negative with u_w·v_c = 1
v, u, negatives = torch.tensor([[1.0]]), torch.tensor([[2.0]]), torch.tensor([[[1.0]]])
T.assert_close(negative_sampling_loss(v, u, negatives), -math.log(1 / (1 + math.exp(-2))) - math.log(1 / (1 + math.exp(1))),
               name="-log σ(2) - log σ(-1): the negative's score enters with a minus sign")
T.assert_close(negative_sampling_loss(v, u, torch.zeros(1, 0, 1)), -math.log(1 / (1 + math.exp(-2))),
               name="K = 0 negatives: the first term only")
# The mean over the batch: two copies of the same pair give the same loss as one
T.assert_close(negative_sampling_loss(v.repeat(2, 1), u.repeat(2, 1), negatives.repeat(2, 1, 1)),
               negative_sampling_loss(v, u, negatives), name="the loss is the mean over the batch, not the sum")

# Huge scores: u_o·v_c = -1000 and u_w·v_c = +1000 are both as wrong as they can be; -log σ(-1000) = 1000 (+ e^-1000)
huge = negative_sampling_loss(torch.tensor([[1000.0]]), torch.tensor([[-1.0]]), torch.tensor([[[1.0]]]))
assert torch.isfinite(huge), "scores of ±1000 give an infinite loss: log(sigmoid(x)) underflows, use F.logsigmoid"
T.assert_close(huge, 2000.0, name="scores of ±1000")

# The gradient, by autograd, against finite differences (float64)
g = torch.Generator().manual_seed(0)
inputs = [torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True) for shape in ((4, 3), (4, 3), (4, 2, 3))]
assert torch.autograd.gradcheck(negative_sampling_loss, inputs), "the gradient differs from finite differences"
assert negative_sampling_loss(*inputs).dtype == torch.float64, "float64 vectors give a float64 loss"

print("✓ Part 4: negative_sampling_loss passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part5_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 5 — Nearest neighbours and analogies (2 points)
#
# The lecture answered *man : king = woman : ?* with the word nearest to $v_\text{king} - v_\text{man} +
# v_\text{woman}$ on unit vectors. gensim's `most_similar(positive=[...], negative=[...])` generalises it (the
# method is called **3CosAdd**): with $\hat e_w = e_w / \lVert e_w \rVert$ the unit vector of word $w$,
#
# $$ q = \sum_{p \in \text{positive}} \hat e_p - \sum_{n \in \text{negative}} \hat e_n, \qquad
#    \operatorname{score}(w) = \cos(q, e_w) = \frac{q^\top \hat e_w}{\lVert q \rVert}. $$
#
# **`most_similar(embeddings, vocab, positive, negative=(), topn=10)`**
# - `embeddings` is a `(V, D)` float tensor (float32 or float64) with no zero row; `vocab` the list of the $V$
#   distinct words, `vocab[i]` the word of row `i`; `positive` and `negative` are lists of words of `vocab`
#   (`positive` not empty; the query $q$ is never the zero vector); `topn` $\ge 1$ is an int.
# - Score every word of the vocabulary **except the query words** (those in `positive` or `negative`), and return
#   the `topn` best as a list of `(word, score)` tuples, `score` a Python float, best first. When two words have
#   **exactly equal** scores, the one with the smaller index in `vocab` comes first. When fewer than `topn` words
#   are left, return them all.
# - Do not modify `embeddings` (normalise a copy). Nearest neighbours of a word are `positive=[word]`.

# %% nbgrader={"grade": false, "grade_id": "most_similar", "locked": false, "schema_version": 3, "solution": true, "task": false}
def most_similar(embeddings: torch.Tensor, vocab: list[str], positive: list[str], negative: list[str] = (),
                 topn: int = 10) -> list[tuple[str, float]]:
    """The topn words (except the query words) by cosine similarity to the 3CosAdd query, with their scores."""
    ### BEGIN SOLUTION
    units = embeddings / embeddings.norm(dim=1, keepdim=True)
    index = {word: i for i, word in enumerate(vocab)}
    query = units[[index[w] for w in positive]].sum(0)
    if len(negative):
        query = query - units[[index[w] for w in negative]].sum(0)
    scores = units @ (query / query.norm())
    excluded = torch.zeros(len(vocab), dtype=torch.bool)
    excluded[[index[w] for w in [*positive, *negative]]] = True
    order = torch.sort(scores, descending=True, stable=True).indices
    best = [i for i in order.tolist() if not excluded[i]][:topn]
    return [(vocab[i], float(scores[i])) for i in best]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_most_similar", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# Three directions: royalty, gender (+ male, - female), fruit
vocab = ["king", "queen", "man", "woman", "apple"]
vectors = torch.tensor([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
original = vectors.clone()

answer = most_similar(vectors, vocab, positive=["king", "woman"], negative=["man"], topn=1)
T.assert_type(answer, list, "most_similar(...)")
assert len(answer) == 1 and type(answer[0]) is tuple and len(answer[0]) == 2, f"a list of (word, score) tuples, got {answer}"
word, score = answer[0]
assert word == "queen", f"king - man + woman should be queen, got {word} (are the query words excluded?)"
assert type(score) is float, f"the score is a Python float, got {type(score).__name__}"
query = torch.tensor([2**-0.5, 2**-0.5 - 2, 0.0])  # unit(king) - unit(man) + unit(woman)
T.assert_close(score, float(query @ torch.tensor([2**-0.5, -(2**-0.5), 0.0]) / query.norm()),
               name="the score is the cosine of the query and the word's vector")

neighbours = most_similar(vectors, vocab, positive=["king"])
assert [w for w, _ in neighbours] == ["man", "queen", "apple", "woman"], (
    "the nearest neighbours of king: man (cos 0.71), then queen and apple (cos 0, tied: vocabulary order), then woman "
    f"(cos -0.71), and never king itself; got {[w for w, _ in neighbours]}")
T.assert_close([s for _, s in neighbours], [2**-0.5, 0.0, 0.0, -(2**-0.5)], name="the scores of king's neighbours")
assert torch.equal(vectors, original), "most_similar modified the embeddings (normalise a copy, not in place)"

# Ties: 'b', 'c' and 'd' point the same way, and 'a' is as far from 'e' as they are: four equal scores,
# listed in vocabulary order
tied = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 1.0], [0.0, 0.5], [1.0, 1.0]], dtype=torch.float64)
answer = most_similar(tied, ["a", "b", "c", "d", "e"], positive=["e"], topn=4)
assert [w for w, _ in answer] == ["a", "b", "c", "d"], f"ties go to the smaller index: expected a, b, c, d, got {answer}"
assert len(most_similar(tied, ["a", "b", "c", "d", "e"], ["a"], ["b"], topn=10)) == 3, (
    "only 3 words are left when 2 of 5 are query words")

print("✓ Part 5: most_similar passes the visible tests")

# %% [markdown]
# ## Your tokenizer and TF-IDF on «Евгений Онегин» (ungraded)
#
# Each stanza of the novel is a document. We keep the word tokens of your tokenizer (punctuation and numbers
# dropped), fit your TF-IDF on all stanzas with `sublinear_tf=True`, and print the words with the largest weight in the
# first stanzas: words that are frequent in this stanza and rare in the others. Look also at the hyphenated words your
# tokenizer kept whole, and at what happens to «l’Abbe» in the third stanza: the typographic apostrophe `’` is not the
# ASCII `'` of the rules, so it is a token of its own.

# %%
from course_utils import load_text

try:
    onegin = load_text("pushkin_onegin_ru")
    stanzas = [s for s in re.split(r"\n\s*[IVXLC]+\s*\n", onegin) if s.strip()]  # stanzas are numbered I, II, ...
    documents = [[token for token in tokenize(stanza) if token[0].isalpha()] for stanza in stanzas]
    onegin_state = fit_tfidf(documents, sublinear_tf=True)
    columns = sorted(onegin_state["vocabulary"], key=onegin_state["vocabulary"].get)
    print(f"{len(documents)} stanzas, {sum(map(len, documents)):,} word tokens, {len(columns):,} distinct words")
    for number, row in enumerate(transform_tfidf(onegin_state, documents[:4]), start=1):
        print(f"stanza {number}: " + ", ".join(columns[i] for i in row.topk(6).indices.tolist()))
    hyphenated = collections.Counter(token for document in documents for token in document if "-" in token)
    print("hyphenated words:", ", ".join(word for word, _ in hyphenated.most_common(10)))
except NotImplementedError:
    print("Implement Parts 1 and 2 first.")
