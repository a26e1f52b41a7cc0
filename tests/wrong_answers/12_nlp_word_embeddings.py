"""Assignment 12: a tokenizer that cuts the dots off the abbreviations, an idf without smoothing, a loss that
takes log(sigmoid()) directly (infinite for huge scores), and analogies that do not exclude the query words. Each
keeps part of the work right (numbers, words, the vocabulary, the loss for moderate scores, the cosines), and the
skip-gram pairs are left correct, so the submission keeps some points."""

WRONG_ANSWERS = {
    'tokenize': """def tokenize(text, abbreviations=ABBREVIATIONS):
    return re.findall(r"[0-9]+(?:[.,][0-9]+)?|[a-zа-яё]+(?:[-'][a-zа-яё]+)*|\\S", text.lower())
""",
    'tfidf': """def fit_tfidf(docs, sublinear_tf=False):
    vocabulary = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
    df = torch.zeros(len(vocabulary), dtype=torch.float64)
    for d in docs:
        for t in set(d):
            df[vocabulary[t]] += 1
    return {"vocabulary": vocabulary, "idf": torch.log(len(docs) / df) + 1, "sublinear_tf": sublinear_tf}


def transform_tfidf(state, docs):
    vocabulary = state["vocabulary"]
    x = torch.zeros(len(docs), len(vocabulary), dtype=torch.float64)
    for r, d in enumerate(docs):
        for t in d:
            if t in vocabulary:
                x[r, vocabulary[t]] += 1
    if state["sublinear_tf"]:
        x = torch.where(x > 0, 1 + torch.log(x.clamp(min=1)), x)
    x = x * state["idf"]
    return x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)
""",
    'ns_loss': """def negative_sampling_loss(centre_vectors, context_vectors, negative_vectors):
    pos = (centre_vectors * context_vectors).sum(1)
    neg = torch.bmm(negative_vectors, centre_vectors.unsqueeze(2)).squeeze(2)
    loss = -torch.log(torch.sigmoid(pos)) - torch.log(torch.sigmoid(-neg)).sum(1)
    return loss.mean()
""",
    'most_similar': """def most_similar(embeddings, vocab, positive, negative=(), topn=10):
    unit = embeddings / embeddings.norm(dim=1, keepdim=True)
    q = sum(unit[vocab.index(w)] for w in positive) - sum(unit[vocab.index(w)] for w in negative)
    scores = unit @ q / q.norm()
    order = torch.sort(scores, descending=True, stable=True).indices[:topn]
    return [(vocab[i], scores[i].item()) for i in order.tolist()]
""",
}

MISTAKES = {
    "test_tokenize": "the abbreviations are not kept whole: their dots are cut off like any other punctuation",
    "test_tfidf": "the idf is not smoothed: ln(N / df) + 1 instead of ln((1 + N) / (1 + df)) + 1",
    "test_ns_loss": ("log(sigmoid(x)) is computed directly: for huge scores sigmoid rounds to 0 and the log to -inf "
                     "(use F.logsigmoid)"),
    "test_most_similar": "the query words are not excluded from the answer",
}
