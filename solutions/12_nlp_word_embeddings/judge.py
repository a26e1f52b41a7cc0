"""Hidden tests of Assignment 12, judged in the grader's process (instructor only, never released).

Each part first re-checks a fixed case built from the visible examples (so that a catalogued mistake is named
whatever the random draw), then random cases: English and Russian sentences assembled from words, hyphenated and
apostrophe words, numbers, abbreviations (in any case) and punctuation, plus character soup with other abbreviation
lists; random corpora with empty documents and unseen words against scikit-learn's TfidfVectorizer; sentences of
every length, windows and seeds; float32 and float64 vectors with dot products in the thousands; random
embeddings, with copies scaled by powers of two for exact ties. The references below are written for this file only
(a character scanner, scikit-learn, explicit loops, float64 formulas).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from torch.nn import functional as F

from course_grading.gradients import kernel_leaves, value_and_gradients
from course_grading.judge import (Judge, case, expect, expect_close, expect_equal, expect_tensor, expect_type,
                                  fail)

judge = Judge()
judge.advise_against("tfidf", "sklearn", "TfidfVectorizer", "CountVectorizer", "TfidfTransformer",
                     "HashingVectorizer")
judge.advise_against("most_similar", "gensim", "KeyedVectors")
DTYPES = (torch.float32, torch.float64)


def tolerance(dtype: torch.dtype) -> dict[str, float]:
    return {"atol": 1e-4, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 1e-9, "rtol": 1e-9}


# ---------------------------------------------------------------- Part 1

NOTEBOOK_ABBREVIATIONS = ["e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "dr.", "т.е.", "т.к.", "т.д.", "т.п.", "г.",
                          "руб.", "др."]
SPLIT_ONLY = "the text is only split at whitespace (str.split): punctuation stays glued to the words"
NO_ABBREVIATIONS = "the abbreviations are not kept whole: their dots are cut off like any other punctuation"
NO_YO = "«ё» is not treated as a letter (the range а-я does not contain ё)"
NOT_LOWERED = "the text is not lower-cased"
SHORTEST_FIRST = "the first abbreviation of the list that matches wins instead of the longest one"
LATIN = "abcdefghijklmnopqrstuvwxyz"
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщъыьэюяё"
DIGITS = "0123456789"


def scan_tokens(text: str, abbreviations, mistake: str | None = None) -> list[str]:
    """The stated rules as a character scanner; `mistake` gives a catalogued wrong tokenisation."""
    if mistake != NOT_LOWERED:
        text = text.lower()
    if mistake == SPLIT_ONLY:
        return text.split()
    alphabet = set(LATIN + CYRILLIC) - ({"ё"} if mistake == NO_YO else set())

    def letter(ch: str) -> bool:
        return (ch.lower() if mistake == NOT_LOWERED else ch) in alphabet

    def run(start: int, accept) -> int:
        while start < len(text) and accept(text[start]):
            start += 1
        return start

    known = [] if mistake == NO_ABBREVIATIONS else list(abbreviations)
    if mistake != SHORTEST_FIRST:
        known.sort(key=len, reverse=True)
    found, at = [], 0
    while at < len(text):
        ch = text[at]
        if ch.isspace():
            at += 1
            continue
        stop = next((at + len(a) for a in known if text.startswith(a, at)), None)
        if stop is None and ch in DIGITS:
            stop = run(at, DIGITS.__contains__)
            if stop + 1 < len(text) and text[stop] in ".," and text[stop + 1] in DIGITS:
                stop = run(stop + 1, DIGITS.__contains__)
        if stop is None and letter(ch):
            stop = run(at, letter)
            while stop + 1 < len(text) and text[stop] in "-'" and letter(text[stop + 1]):
                stop = run(stop + 1, letter)
        stop = at + 1 if stop is None else stop
        found.append(text[at:stop])
        at = stop
    return found


def check_tokenize(student, text: str, abbreviations=None) -> None:
    arguments = (text,) if abbreviations is None else (text, list(abbreviations))
    got = student.tokenize(*arguments)
    expect_type(got, list, "tokenize(...)")
    expect(all(type(t) is str for t in got), "tokenize(...) should return a list of strings")
    rules = NOTEBOOK_ABBREVIATIONS if abbreviations is None else abbreviations
    labels = (SPLIT_ONLY, NO_ABBREVIATIONS, NO_YO, NOT_LOWERED, SHORTEST_FIRST)
    expect_equal(got, scan_tokens(text, rules), f"the tokens of {text!r}",
                 mistakes={label: scan_tokens(text, rules, label) for label in labels})


EN_WORDS = ["the", "Cat", "sat", "on", "a", "mat", "Winter", "is", "cold", "London", "paid", "for", "it", "NOT",
            "small", "tree", "Smith", "and", "Jones", "was", "late"]
RU_WORDS = ["Маленькой", "ёлочке", "холодно", "зимой", "Ёлка", "стоит", "в", "лесу", "Москва", "ещё", "всё", "мёд",
            "ЁЖ", "купил", "за", "рублей", "и", "не", "Пушкин", "объём"]
JOINED = ["well-known", "state-of-the-art", "E-mail", "don't", "O'Neill", "it's", "rock'n'roll", "кто-то",
          "Санкт-Петербург", "г-н", "из-за", "что-нибудь", "Ёлки-палки", "д'Артаньян"]
PUNCTUATION = list(".,!?;:()«»\"—-'$%&/…") + ["...", "?!", ":)", "--"]
OTHER_ABBREVIATIONS = ["fig.", "approx.", "no.", "p.", "p.m.", "a.m.", "ул.", "см.", "т.", "т.е.", "стр.", "им.",
                       "e.g.", "dr."]
SOUP = LATIN[:6] + "ёжик" + "0123" + ".,-'" + "  " + "!«" + "éα٣_"  # é, α, ٣, _: not letters or digits here


def random_number(draw) -> str:
    whole = str(draw.int(0, 10 ** draw.int(1, 6)))
    kind = draw.int(0, 3)
    if kind == 0:
        return whole
    separator = draw.choice(".,")
    return whole + separator + str(draw.int(0, 999)) + (separator + str(draw.int(0, 99)) if kind == 3 else "")


def random_case(draw, word: str) -> str:
    return draw.choice([word, word.capitalize(), word.upper(), word.lower()])


def random_sentence(draw, abbreviations) -> str:
    pieces = []
    for _ in range(draw.int(1, 16)):
        kind = draw.choice("eerrjnap")
        if kind == "e":
            piece = random_case(draw, draw.choice(EN_WORDS))
        elif kind == "r":
            piece = random_case(draw, draw.choice(RU_WORDS))
        elif kind == "j":
            piece = random_case(draw, draw.choice(JOINED))
        elif kind == "n":
            piece = random_number(draw)
        elif kind == "a":
            piece = random_case(draw, draw.choice(list(abbreviations)))
        else:
            piece = draw.choice(PUNCTUATION)
        glue = "" if kind == "p" and draw.int(0, 2) else draw.choice([" ", " ", " ", " ", "", "  ", "\n", "\t"])
        pieces.append(glue + piece)
    return "".join(pieces).lstrip(" ") + draw.choice(["", ".", "!", " ?", "..."])


@judge.part("test_tokenize")
def tokenize(student, draw):
    with case("the visible examples"):
        check_tokenize(student, "Dr. O'Neill paid 3.50, i.e. not much!")
        check_tokenize(student, "Т.е. кто-то купил ёлку за 1,5 тыс. руб.")
        check_tokenize(student, "Маленькой ёлочке холодно зимой.")
        check_tokenize(student, "")
        check_tokenize(student, "3.14.15 1,000,000 10. .5 well--known -кто-то- don't 'quoted' mp3 ЁЛКА «ёлка»—2024 :)")
        check_tokenize(student, "т.е. т.", ["т.", "т.е."])
        check_tokenize(student, "Café α_β ٣٤ x²")
    for number in range(40):
        with_list = number % 3 == 2
        rules = draw.sample(OTHER_ABBREVIATIONS, draw.int(0, 6)) if with_list else NOTEBOOK_ABBREVIATIONS
        text = random_sentence(draw, rules or ["x."])
        with case(f"random sentence #{number + 1}", abbreviations=rules if with_list else "ABBREVIATIONS"):
            check_tokenize(student, text, rules if with_list else None)
    for number in range(15):
        rules = draw.sample(OTHER_ABBREVIATIONS, draw.int(1, 5))
        text = "".join(draw.choice(SOUP + "." * 4) for _ in range(draw.int(1, 60)))
        text += " " + " ".join(draw.sample(rules, min(2, len(rules))))
        with case(f"random characters #{number + 1}", abbreviations=rules):
            check_tokenize(student, text, rules)


# ---------------------------------------------------------------- Part 2

NO_SMOOTHING = "the idf is not smoothed: ln(N / df) + 1 instead of ln((1 + N) / (1 + df)) + 1"
NO_PLUS_ONE = "the idf lacks the final +1: ln((1 + N) / (1 + df))"
DF_COUNTS_TOKENS = "df counts every occurrence of a token instead of the documents that contain it"
NO_NORM = "the rows are not divided by their Euclidean norm"


def sklearn_tfidf(docs: list[list[str]], sublinear: bool):
    """scikit-learn's TfidfVectorizer on token lists (imported here: only the grader's process needs it)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=lambda tokens: tokens, smooth_idf=True, norm="l2", sublinear_tf=sublinear,
                           dtype=np.float64).fit(docs)


def idf_variant(docs: list[list[str]], columns: list[str], mistake: str) -> torch.Tensor:
    n = len(docs)
    if mistake == DF_COUNTS_TOKENS:
        frequency = Counter(t for doc in docs for t in doc)
    else:
        frequency = Counter(t for doc in docs for t in set(doc))
    df = torch.tensor([float(frequency[t]) for t in columns], dtype=torch.float64)
    if mistake == NO_SMOOTHING:
        return torch.log(n / df) + 1
    if mistake == NO_PLUS_ONE:
        return torch.log((1 + n) / (1 + df))
    return torch.log((1 + n) / (1 + df)) + 1


def rows_for(docs: list[list[str]], vocabulary: dict[str, int], idf: torch.Tensor, sublinear: bool,
             normalise: bool = True) -> torch.Tensor:
    """TF-IDF rows by the formula (for the catalogued mistakes and hand-made states)."""
    table = torch.zeros(len(docs), len(vocabulary), dtype=torch.float64)
    for r, doc in enumerate(docs):
        for token in doc:
            if token in vocabulary:
                table[r, vocabulary[token]] += 1.0
    if sublinear:
        table = torch.where(table > 0, 1 + torch.log(torch.where(table > 0, table, 1.0)), torch.zeros_like(table))
    table = table * idf
    if not normalise:
        return table
    length = table.pow(2).sum(1, keepdim=True).sqrt()
    return torch.where(length > 0, table / torch.where(length > 0, length, 1.0), torch.zeros_like(table))


def check_fit(student, docs, sublinear: bool, new_docs) -> None:
    call = student.fit_tfidf.invoke((docs,), {"sublinear_tf": True} if sublinear else {}, return_args=True)
    expect_equal(call.args[0], docs, "the documents after fit_tfidf (do not modify them)")
    state = call.value
    expect_type(state, dict, "fit_tfidf(docs)")
    missing = {"vocabulary", "idf", "sublinear_tf"} - set(state)
    expect(not missing, f"the state should have the keys 'vocabulary', 'idf' and 'sublinear_tf'; missing {missing}")
    reference = sklearn_tfidf(docs, sublinear)
    vocabulary = {token: int(column) for token, column in reference.vocabulary_.items()}
    columns = sorted(vocabulary, key=vocabulary.get)
    expect_equal(state["vocabulary"], vocabulary, "state['vocabulary'] (each distinct token -> its column, "
                 "the columns in sorted token order)")
    expect_tensor(state["idf"], "state['idf']", dtype=torch.float64, shape=(len(vocabulary),))
    want_idf = torch.from_numpy(reference.idf_)
    expect_close(state["idf"], want_idf, "state['idf']", atol=1e-12, rtol=1e-10,
                 mistakes={m: idf_variant(docs, columns, m) for m in (NO_SMOOTHING, NO_PLUS_ONE, DF_COUNTS_TOKENS)})
    expect_equal(state["sublinear_tf"], sublinear, "state['sublinear_tf']")
    for name, batch in (("the training documents", docs), ("new documents (empty ones, unseen words)", new_docs)):
        call = student.transform_tfidf.invoke((state, batch), return_args=True)
        matrix = call.value
        expect_tensor(matrix, f"transform_tfidf(state, {name})", dtype=torch.float64,
                      shape=(len(batch), len(vocabulary)))
        mistakes = {NO_NORM: rows_for(batch, vocabulary, want_idf, sublinear, normalise=False)}
        mistakes.update({m: rows_for(batch, vocabulary, idf_variant(docs, columns, m), sublinear)
                         for m in (NO_SMOOTHING, NO_PLUS_ONE, DF_COUNTS_TOKENS)})
        want = (torch.from_numpy(reference.transform(batch).toarray()) if batch
                else torch.zeros(0, len(vocabulary), dtype=torch.float64))
        expect_close(matrix, want,
                     f"transform_tfidf(state, {name})", atol=1e-12, rtol=1e-9, mistakes=mistakes)
        expect_equal(call.args[1], batch, "the documents after transform_tfidf (do not modify them)")


TOKEN_POOL = (["the", "cat", "dog", "sat", "on", "mat", "a", "not", "good", "film", "bad", "plot", "actor", "is",
               "маленькой", "ёлочке", "холодно", "зимой", "ёлка", "лес", "и", "не", "фильм", "сюжет", "ещё", "",
               "e.g.", "3.14", ",", ".", "!", "Cat", "ёж", "еж", "don't"]
              + [f"w{k}" for k in range(40)])


def random_corpus(draw, n: int, pool: list[str], max_length: int) -> list[list[str]]:
    weights = [1.0 / (rank + 1) for rank in range(len(pool))]  # Zipf-like: a few tokens in most documents
    corpus = []
    for _ in range(n):
        length = 0 if draw.int(0, 5) == 0 else draw.int(1, max_length)
        corpus.append([pool[draw_weighted(draw, weights)] for _ in range(length)])
    return corpus


def draw_weighted(draw, weights: list[float]) -> int:
    target, total = draw.uniform(0, sum(weights)), 0.0
    for index, weight in enumerate(weights):
        total += weight
        if target <= total:
            return index
    return len(weights) - 1


@judge.part("test_tfidf")
def tfidf(student, draw):
    visible = [["the", "cat", "sat", "the"], ["the", "dog"], []]
    with case("the visible example: three documents, one empty"):
        check_fit(student, visible, False, [["unseen", "words"], ["dog", "unseen"], []])
        check_fit(student, visible, True, visible)
    for number in range(12):
        pool = draw.sample(TOKEN_POOL, draw.int(2, len(TOKEN_POOL)))
        docs = random_corpus(draw, draw.int(1, 14), pool, draw.int(1, 25))
        if not any(docs):
            docs.append([pool[0]])
        new_docs = random_corpus(draw, draw.int(0, 6), pool + ["never", "seen", "before"], 20)
        sublinear = bool(draw.int(0, 1))
        with case(f"random corpus #{number + 1}", N=len(docs), empty_documents=sum(not d for d in docs),
                  sublinear_tf=sublinear):
            check_fit(student, docs, sublinear, new_docs)
    for number in range(6):
        size = draw.int(1, 12)
        tokens = draw.sample(TOKEN_POOL, size)
        order = draw.sample(range(size), size)  # the grader's own column order, not sorted
        state = {"vocabulary": {t: c for t, c in zip(tokens, order)},
                 "idf": (0.5 + 3 * draw.rand(size)).double(), "sublinear_tf": bool(draw.int(0, 1))}
        docs = random_corpus(draw, draw.int(1, 6), tokens + ["unknown"], 15)
        with case(f"a state written by the grader #{number + 1}", V=size, sublinear_tf=state["sublinear_tf"]):
            got = student.transform_tfidf(state, docs)
            expect_tensor(got, "transform_tfidf(state, docs)", dtype=torch.float64, shape=(len(docs), size))
            want = rows_for(docs, state["vocabulary"], state["idf"], state["sublinear_tf"])
            expect_close(got, want, "transform_tfidf(state, docs) with the grader's state", atol=1e-12, rtol=1e-9,
                         mistakes={NO_NORM: rows_for(docs, state["vocabulary"], state["idf"], state["sublinear_tf"],
                                                     normalise=False)})


# ---------------------------------------------------------------- Part 3

OWN_CONTEXT = "the centre is included as its own context (j = i is not skipped)"
EXCLUSIVE_WINDOW = "the reduced window is drawn from 1..window-1 (torch.randint's upper bound is exclusive)"
FULL_WINDOW = "the full window is used for every centre (no reduced window drawn)"
SWAPPED = "the columns are swapped: (context, centre) instead of (centre, context)"


def enumerate_pairs(ids: list[int], reach: list[int], mistake: str | None = None) -> list[list[int]]:
    out = []
    for centre in range(len(ids)):
        for other in range(centre - reach[centre], centre + reach[centre] + 1):
            if 0 <= other < len(ids) and (other != centre or mistake == OWN_CONTEXT):
                out.append([ids[other], ids[centre]] if mistake == SWAPPED else [ids[centre], ids[other]])
    return out


def drawn_reach(n: int, high: int, seed: int) -> tuple[list[int], torch.Tensor]:
    replay = torch.Generator().manual_seed(seed)  # the draws the student's generator makes with this seed
    values = torch.randint(1, high, (n,), generator=replay).tolist() if high > 1 else [0] * n
    return values, replay.get_state()


def check_pairs(student, ids: list[int], window: int, seed: int) -> None:
    tokens = torch.tensor(ids, dtype=torch.int64)
    kernel_generator = student.module("torch.Generator").invoke(keep=True).value
    kernel_generator.manual_seed(seed)
    call = student.skipgram_pairs.invoke((tokens, window, kernel_generator), return_args=True)
    expect(torch.equal(call.args[0], tokens), "skipgram_pairs modified token_ids")
    got = call.value
    expect_tensor(got, "skipgram_pairs(...)", dtype=torch.int64)
    expect(got.dim() == 2 and got.shape[1] == 2,
           f"skipgram_pairs(...) should have shape (P, 2), got {tuple(got.shape)}")
    reach, state_after = drawn_reach(len(ids), window + 1, seed)
    want = enumerate_pairs(ids, reach)
    mistakes = {OWN_CONTEXT: enumerate_pairs(ids, reach, OWN_CONTEXT), SWAPPED: enumerate_pairs(ids, reach, SWAPPED),
                FULL_WINDOW: enumerate_pairs(ids, [window] * len(ids))}
    if window > 1:
        mistakes[EXCLUSIVE_WINDOW] = enumerate_pairs(ids, drawn_reach(len(ids), window, seed)[0])
    pairs = got.tolist()
    if pairs != want and sorted(pairs) == sorted(want):
        fail("the right pairs, in the wrong order: centre positions in turn, and for each its contexts from left to "
             "right (position i - b_i to i + b_i)")
    expect_equal(pairs, want, "the (centre, context) pairs", mistakes=mistakes)
    expect(torch.equal(kernel_generator.get_state(), state_after),
           "the generator was not used as stated: draw the reduced windows with one call "
           "torch.randint(1, window + 1, (n,), generator=generator) and nothing else")


@judge.part("test_skipgram")
def skipgram(student, draw):
    with case("the visible examples: «Маленькой ёлочке холодно зимой.»"):
        check_pairs(student, [0, 1, 2, 3], 2, 0)
        check_pairs(student, [0, 1, 2, 3], 1, 0)
        check_pairs(student, [7, 5, 7], 1, 1)
        check_pairs(student, [4], 3, 0)
        check_pairs(student, [], 3, 0)
    for number in range(20):
        n, window = draw.choice([0, 1, 2, draw.int(3, 12), draw.int(10, 60)]), draw.int(1, 7)
        ids = [draw.int(0, max(1, n // 2)) for _ in range(n)]
        seed = draw.new_seed()
        with case(f"random sentence #{number + 1}", n=n, window=window):
            check_pairs(student, ids, window, seed)
    with case("a long sentence", n=3000, window=5):
        check_pairs(student, [draw.int(0, 999) for _ in range(3000)], 5, draw.new_seed())


# ---------------------------------------------------------------- Part 4

NEGATIVE_SIGN = "the negatives enter as -log σ(+u_k·v) instead of -log σ(-u_k·v)"
NAIVE_LOG = ("log(sigmoid(x)) is computed directly: for huge scores sigmoid rounds to 0 and the log to -inf "
             "(use F.logsigmoid)")
BATCH_SUM = "the loss is summed over the batch instead of averaged"


def ns_reference(v: torch.Tensor, u: torch.Tensor, n: torch.Tensor, mistake: str | None = None) -> torch.Tensor:
    """The loss in float64 (or, for NAIVE_LOG, in the inputs' dtype, as such code computes it)."""
    if mistake != NAIVE_LOG:
        v, u, n = v.double(), u.double(), n.double()
    score_o = torch.einsum("bd,bd->b", u, v)
    score_k = torch.einsum("bkd,bd->bk", n, v)
    if mistake == NAIVE_LOG:
        per_pair = -torch.log(torch.sigmoid(score_o)) - torch.log(torch.sigmoid(-score_k)).sum(1)
    else:
        sign = 1.0 if mistake == NEGATIVE_SIGN else -1.0
        per_pair = -F.logsigmoid(score_o) - F.logsigmoid(sign * score_k).sum(1)
    return per_pair.sum() if mistake == BATCH_SUM else per_pair.mean()


def check_ns(student, v: torch.Tensor, u: torch.Tensor, n: torch.Tensor) -> None:
    remote = kernel_leaves(student, v, u, n)
    loss_handle = student.negative_sampling_loss.invoke(tuple(remote), keep=True).value
    expect(loss_handle.type_name == "torch.Tensor", f"the loss should be a torch.Tensor, got a {loss_handle.type_name}")
    loss = value_and_gradients(student, loss_handle, remote, "the loss")
    got = loss.value
    expect_tensor(got, "the loss", dtype=v.dtype, shape=())
    inputs = [x.double().requires_grad_(True) for x in (v, u, n)]
    want = ns_reference(*inputs)
    want_grads = torch.autograd.grad(want, inputs)
    mistakes = {label: ns_reference(v, u, n, label).detach() for label in (NEGATIVE_SIGN, BATCH_SUM, NAIVE_LOG)}
    expect_close(got, want.detach(), "the loss", mistakes=mistakes, **tolerance(v.dtype))
    grads = loss.gradients()
    for name, g, w in zip(("centre_vectors", "context_vectors", "negative_vectors"), grads, want_grads):
        largest = float(w.abs().max()) if w.numel() else 0.0
        if g is None:
            if largest > 0:
                fail(f"the loss does not depend on {name} (no gradient)")
            continue
        scale = max(1.0, largest)
        expect_close(g, w, f"the gradient with respect to {name}", atol=tolerance(v.dtype)["atol"] * scale,
                     rtol=tolerance(v.dtype)["rtol"])


def largest_score(v: torch.Tensor, u: torch.Tensor, n: torch.Tensor) -> float:
    scores = torch.cat([torch.einsum("bd,bd->b", u.double(), v.double()),
                        torch.einsum("bkd,bd->bk", n.double(), v.double()).reshape(-1)])
    return float(scores.abs().max())


def random_vectors(draw, b: int, k: int, d: int, dtype: torch.dtype, scale: float):
    return tuple((scale * draw.randn(*shape)).to(dtype) for shape in ((b, d), (b, d), (b, k, d)))


@judge.part("test_ns_loss")
def ns_loss(student, draw):
    with case("the visible examples: zero vectors, one pair by hand, K = 0"):
        check_ns(student, torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 5, 4))
        check_ns(student, torch.tensor([[1.0]]), torch.tensor([[2.0]]), torch.tensor([[[1.0]]]))
        check_ns(student, torch.tensor([[1.0]]), torch.tensor([[2.0]]), torch.zeros(1, 0, 1))
    with case("the visible example with huge scores: u_o·v_c = -1000, u_w·v_c = +1000"):
        check_ns(student, torch.tensor([[1000.0]]), torch.tensor([[-1.0]]), torch.tensor([[[1.0]]]))
    for number in range(12):
        b, k, d = draw.int(1, 16), draw.choice([0, 1, 2, 5, draw.int(3, 10)]), draw.int(1, 20)
        dtype = draw.choice(DTYPES)
        scale = 40.0 if number % 3 == 0 else draw.choice([0.1, 1.0, 3.0])
        v, u, n = random_vectors(draw, b, k, d, dtype, scale)
        with case(f"random vectors #{number + 1}", B=b, K=k, D=d, dtype=dtype,
                  largest_score=f"{largest_score(v, u, n):.0f}"):
            check_ns(student, v, u, n)


# ---------------------------------------------------------------- Part 5

KEEPS_QUERY = "the query words are not excluded from the answer"
RAW_SUM = "the query sums the raw vectors instead of the unit vectors"
DOT_RANKING = "the words are ranked by the dot product with their raw vectors instead of the cosine"
QUERY_NOT_NORMALISED = "the scores are q·ê_w without dividing by ‖q‖ (not cosines)"
LAST_INDEX_FIRST = "tied words come with the larger index first"


def neighbours_reference(matrix: torch.Tensor, vocab: list[str], positive, negative, topn: int,
                         mistake: str | None = None) -> list[tuple[str, float]]:
    e = matrix.double()
    hat = e / e.pow(2).sum(1, keepdim=True).sqrt()
    source = e if mistake == RAW_SUM else hat
    where = {w: i for i, w in enumerate(vocab)}
    q = torch.zeros(e.shape[1], dtype=torch.float64)
    for w in positive:
        q += source[where[w]]
    for w in negative:
        q -= source[where[w]]
    target = e if mistake == DOT_RANKING else hat
    cosines = (target @ q) / (1.0 if mistake == QUERY_NOT_NORMALISED else q.pow(2).sum().sqrt())
    banned = set() if mistake == KEEPS_QUERY else {where[w] for w in (*positive, *negative)}
    values = cosines.tolist()
    tie = 1 if mistake == LAST_INDEX_FIRST else -1
    ranked = sorted((i for i in range(len(vocab)) if i not in banned), key=lambda i: (-values[i], tie * -i))
    return [(vocab[i], values[i]) for i in ranked[:topn]]


def check_neighbours(student, matrix, vocab, positive, negative, topn: int) -> None:
    call = student.most_similar.invoke((matrix, vocab, positive, negative, topn), return_args=True)
    expect(torch.equal(call.args[0], matrix), "most_similar modified the embeddings (normalise a copy)")
    got = call.value
    expect_type(got, list, "most_similar(...)")
    for item in got:
        expect(type(item) is tuple and len(item) == 2 and type(item[0]) is str and type(item[1]) is float,
               f"most_similar(...) should return (word, score) tuples with a str and a Python float, got {item!r}")
    words, scores = [w for w, _ in got], [s for _, s in got]
    ranking = neighbours_reference(matrix, vocab, positive, negative, len(vocab))
    want = ranking[:topn]
    if not same_up_to_rounding(words, ranking, topn, 1e-5 if matrix.dtype == torch.float32 else 1e-12):
        labels = (KEEPS_QUERY, RAW_SUM, DOT_RANKING)
        expect_equal(words, [w for w, _ in want], "the words, best first",
                     mistakes={m: [w for w, _ in neighbours_reference(matrix, vocab, positive, negative, topn, m)]
                               for m in labels})
    cosine = dict(ranking)
    unnormalised = dict(neighbours_reference(matrix, vocab, positive, negative, len(vocab), QUERY_NOT_NORMALISED))
    expect_close(scores, [cosine[w] for w in words], "the scores", **tolerance(matrix.dtype),
                 mistakes={QUERY_NOT_NORMALISED: [unnormalised[w] for w in words]})
    position = {w: i for i, w in enumerate(vocab)}
    for (w1, s1), (w2, s2) in zip(got, got[1:]):
        expect(s1 >= s2, f"the words are not sorted by decreasing score: {w1} ({s1!r}) before {w2} ({s2!r})")
        if s1 == s2 and position[w1] > position[w2]:
            fail(f"{w1} (index {position[w1]}) and {w2} (index {position[w2]}) have exactly the same score {s1!r}: "
                 "the smaller index comes first", LAST_INDEX_FIRST)


def same_up_to_rounding(words: list[str], ranking: list[tuple[str, float]], topn: int, tol: float) -> bool:
    """The reference's words, best first, where words whose cosines differ by less than `tol` (ties, up to
    rounding) may come in any order, also across the topn cut."""
    if len(words) != min(topn, len(ranking)) or len(set(words)) != len(words):
        return False
    group, groups = 0, []
    for k, (_, value) in enumerate(ranking):
        if k and ranking[k - 1][1] - value > tol * max(1.0, abs(value)):
            group += 1
        groups.append(group)
    group_of = {w: g for (w, _), g in zip(ranking, groups)}
    return all(w in group_of and group_of[w] == groups[k] for k, w in enumerate(words))


def separated(matrix, vocab, positive, negative, topn: int) -> bool:
    """No two of the topn + 1 best scores so close that float32 rounding could order them either way."""
    scores = [s for _, s in neighbours_reference(matrix, vocab, positive, negative, topn + 1)]
    return all(a - b > 1e-5 for a, b in zip(scores, scores[1:]))


def word_list(draw, size: int) -> list[str]:
    stems = ["king", "queen", "man", "woman", "ёлка", "зима", "лес", "paris", "france", "москва"]
    words = [f"{draw.choice(stems)}_{k}" for k in range(size)]
    return draw.sample(words, size)


@judge.part("test_most_similar")
def most_similar(student, draw):
    vocab = ["king", "queen", "man", "woman", "apple"]
    vectors = torch.tensor([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    with case("the visible examples: king, queen, man, woman, apple"):
        check_neighbours(student, vectors, vocab, ["king"], [], 10)
        check_neighbours(student, vectors, vocab, ["king", "woman"], ["man"], 1)
        tied = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 1.0], [0.0, 0.5], [1.0, 1.0]], dtype=torch.float64)
        check_neighbours(student, tied, list("abcde"), ["e"], [], 4)
        check_neighbours(student, tied, list("abcde"), ["a"], ["b"], 10)
    for number in range(12):
        size, dim, dtype = draw.int(3, 200), draw.int(2, 50), draw.choice(DTYPES)
        vocab = word_list(draw, size)
        for _ in range(50):
            matrix = (draw.randn(size, dim) * (0.2 + 3 * draw.rand(size, 1))).to(dtype)
            query = draw.sample(vocab, min(size - 1, draw.int(1, 4)))
            cut = draw.int(1, len(query))
            positive, negative = query[:cut], query[cut:]
            topn = draw.int(1, size + 2)
            if separated(matrix, vocab, positive, negative, topn):
                break
        with case(f"random embeddings #{number + 1}", V=size, D=dim, dtype=dtype, positive=len(positive),
                  negative=len(negative), topn=topn):
            check_neighbours(student, matrix, vocab, positive, negative, topn)
    for number in range(6):
        directions, dim, dtype = draw.int(2, 8), draw.int(2, 12), draw.choice(DTYPES)
        base = draw.randn(directions, dim).to(dtype)
        picks = [draw.int(0, directions - 1) for _ in range(draw.int(directions + 2, 30))]
        powers = torch.tensor([2.0 ** draw.int(-3, 3) for _ in picks], dtype=dtype)
        matrix = base[picks] * powers[:, None]  # copies of a few directions, scaled by powers of two: exact ties
        vocab = word_list(draw, len(picks))
        positive = draw.sample(vocab, draw.int(1, 2))
        with case(f"scaled copies of {directions} directions: exactly tied scores #{number + 1}", V=len(picks),
                  dtype=dtype):
            check_neighbours(student, matrix, vocab, positive, [], draw.int(1, len(picks)))
