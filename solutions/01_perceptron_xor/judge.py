"""Hidden tests of Assignment 01, judged in the grader's process (instructor only, never released)."""
from __future__ import annotations

import torch
from torch import nn

from course_grading.judge import Judge, case, expect, expect_close, expect_equal, expect_tensor, expect_type
from course_utils import make_xor, xor_truth_table

judge = Judge()
BIAS_NEVER_UPDATED = "b is never updated (only w moves)"
INNER_BIASES_DROPPED = "the biases of all layers but the last are left out"
XOR_ROWS, XOR_LABELS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0]


# ---------------------------------------------------------------- references (plain Python)

def ref_step(w: list[float], b: float, x: list[float]) -> int:
    score = b
    for wi, xi in zip(w, x):
        score += wi * xi
    return 1 if score > 0 else 0


def ref_predict(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> list[int]:
    return [ref_step(w.tolist(), float(b), x) for x in X.tolist()]


def ref_train(X: torch.Tensor, y: torch.Tensor, lr: float = 1.0, epochs: int = 100,
              update_bias: bool = True) -> tuple[list[float], float, list[int]]:
    """Rosenblatt's rule from zeros, sample by sample, stopping after an epoch without mistakes
    (`update_bias=False`: the catalogued mistake of never moving b)."""
    rows, labels = X.tolist(), [int(v) for v in y.tolist()]
    w, b, history = [0.0] * X.shape[1], 0.0, []
    for _ in range(epochs):
        mistakes = 0
        for x, t in zip(rows, labels):
            p = ref_step(w, b, x)
            if p != t:
                w = [wi + lr * (t - p) * xi for wi, xi in zip(w, x)]
                b += lr * (t - p) if update_bias else 0.0
                mistakes += 1
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, b, history


def ref_best(rows: list[list[float]], labels: list[int], values: list[float]) -> float:
    best = 0.0
    for w1 in values:
        for w2 in values:
            for b in values:
                right = sum(int(ref_step([w1, w2], b, x) == t) for x, t in zip(rows, labels))
                best = max(best, right / len(rows))
    return best


def xor_accuracy(w: list[float], b: float) -> float:
    return sum(int(ref_step(w, b, x) == t) for x, t in zip(XOR_ROWS, XOR_LABELS)) / 4


def is_int_list(value: object) -> bool:
    return type(value) is list and all(type(v) is int for v in value)


# ---------------------------------------------------------------- Part 1

@judge.part("test_perceptron")
def perceptron(student, draw):
    T4 = torch.tensor(XOR_ROWS)
    with case("visible example: AND weights"):
        got = student.perceptron_predict(T4, torch.tensor([1.0, 1.0]), torch.tensor(-1.0))
        expect_tensor(got, "perceptron_predict(X, w, b)", dtype=torch.int64, shape=(4,))
        expect_equal(got.tolist(), [0, 0, 0, 1], "the predictions (a score of exactly 0 predicts 0)",
                     mistakes={"a score of exactly 0 predicts 1 (>= instead of >)": [0, 1, 1, 1]})
    for number in range(30):
        n, d = draw.int(1, 12), draw.int(1, 5)
        X, w, b = draw.dyadic(n, d), draw.dyadic(d), draw.dyadic()
        with case(f"random dyadic inputs #{number + 1}, ties at 0 included", N=n, d=d):
            call = student.perceptron_predict.invoke((X, w, b), return_args=True)
            expect_tensor(call.value, "perceptron_predict(X, w, b)", dtype=torch.int64, shape=(n,))
            expect_equal(call.value.tolist(), ref_predict(X, w, b), "the predictions",
                         mistakes={"a score of exactly 0 predicts 1 (>= instead of >)":
                                   [1 if float(x @ w + b) >= 0 else 0 for x in X]})
            expect_equal(call.args[0].tolist(), X.tolist(), "X after the call (do not modify X)")
    for number in range(10):
        n, d = draw.int(5, 40), draw.int(1, 6)
        X, w, b = draw.randn(n, d), draw.randn(d), draw.randn(())
        with case(f"random Gaussian inputs #{number + 1}", N=n, d=d):
            got = student.perceptron_predict(X, w, b)
            expect_tensor(got, "perceptron_predict(X, w, b)", dtype=torch.int64, shape=(n,))
            scores = (X.double() @ w.double() + float(b)).tolist()
            clear = [i for i, s in enumerate(scores) if abs(s) > 1e-4]  # far from the threshold
            expect_equal([got.tolist()[i] for i in clear], [int(scores[i] > 0) for i in clear], "the predictions")

    with case("visible example: AND, lr=1"):
        check_training(student, T4, torch.tensor([0, 0, 0, 1]), 1.0, 100, keyword_defaults=True)
    with case("visible example: OR, lr=1"):
        check_training(student, T4, torch.tensor([0, 1, 1, 1]), 1.0, 100, keyword_defaults=True)
    for number in range(24):
        n, d = draw.int(2, 12), draw.int(1, 4)
        X = draw.dyadic(n, d, low=-6, high=6)
        if number % 3 == 0:
            y, kind = draw.randint(0, 2, (n,)), "random labels"
        else:
            teacher = draw.randint(-3, 4, (d,)).float()
            y, kind = (X @ teacher + (draw.int(-2, 2) + 0.25) > 0).long(), "separable data"
        lr, epochs = draw.choice([0.25, 0.5, 1.0, 2.0]), draw.int(1, 30)
        with case(f"training #{number + 1} on {kind}", N=n, d=d, lr=lr, epochs=epochs):
            check_training(student, X, y, lr, epochs)
    with case("training with the default arguments on non-separable data (all 100 epochs)"):
        check_training(student, draw.randint(-4, 5, (7, 3)).float(), torch.tensor([0, 1, 1, 0, 1, 0, 1]), 1.0, 100,
                       keyword_defaults=True)
    with case("all labels 0: no mistakes in epoch 1, stop at once"):
        check_training(student, draw.randn(5, 3), torch.zeros(5, dtype=torch.int64), 1.0, 100, keyword_defaults=True)


def check_training(student, X: torch.Tensor, y: torch.Tensor, lr: float, epochs: int,
                   keyword_defaults: bool = False) -> None:
    kwargs = {} if keyword_defaults and (lr, epochs) == (1.0, 100) else {"lr": lr, "epochs": epochs}
    call = student.train_perceptron.invoke((X, y), kwargs, return_args=True)
    expect_type(call.value, tuple, "train_perceptron(...)'s result")
    expect(len(call.value) == 3, "train_perceptron must return (w, b, mistakes_per_epoch)")
    w, b, mistakes = call.value
    ref_w, ref_b, ref_mistakes = ref_train(X, y, lr, epochs)
    frozen_bias = ref_train(X, y, lr, epochs, update_bias=False)
    expect_tensor(w, "w", dtype=torch.float32, shape=(X.shape[1],))
    expect_tensor(b, "b", dtype=torch.float32, shape=())
    expect(is_int_list(mistakes), f"mistakes_per_epoch must be a Python list of Python ints, got {mistakes!r}"[:300])
    expect_equal(mistakes, ref_mistakes, "the mistakes per epoch",
                 mistakes={"the loop does not stop after an epoch without mistakes":
                           ref_mistakes + [0] * (epochs - len(ref_mistakes)),
                           BIAS_NEVER_UPDATED: frozen_bias[2]})
    expect_close(w, ref_w, "w", atol=1e-6, rtol=0.0, mistakes={BIAS_NEVER_UPDATED: frozen_bias[0]})
    expect_close(b, ref_b, "b", atol=1e-6, rtol=0.0)
    expect_equal([a.tolist() for a in call.args], [X.tolist(), y.tolist()],
                 "X and y after the call (do not modify them)")


# ---------------------------------------------------------------- Part 2

@judge.part("test_xor_failure")
def xor_failure(student, draw):
    xor = (torch.tensor(XOR_ROWS), torch.tensor(XOR_LABELS))
    for epochs in [1, 2, 3, draw.int(4, 12), draw.int(13, 40)]:
        w, b, mistakes = ref_train(*xor, 1.0, epochs)
        with case("a trainer that behaves like the perceptron on XOR", epochs=epochs):
            check_xor_mistakes(student, epochs, torch.tensor(w), torch.tensor(b), mistakes)
    for number in range(8):
        epochs = draw.int(1, 15)
        w, b = draw.dyadic(2), draw.dyadic()
        with case(f"a stand-in trainer returning random weights #{number + 1}", epochs=epochs):
            check_xor_mistakes(student, epochs, w, b, [draw.int(0, 4) for _ in range(epochs)])

    T4 = torch.tensor(XOR_ROWS)
    visible = [(torch.tensor([0, 0, 0, 1]), torch.linspace(-2, 2, 9), 1.0),
               (torch.tensor(XOR_LABELS), torch.linspace(-2, 2, 9), 0.75),
               (torch.tensor(XOR_LABELS), torch.tensor([0.0, 1.0]), 0.75),
               (torch.tensor([1, 1, 1, 1]), torch.tensor([0.0]), 0.0)]
    for number, (labels, grid, expected) in enumerate(visible):
        with case(f"visible example {number + 1}", grid_size=len(grid)):
            got = student.best_linear_accuracy(T4, labels, grid)
            expect_type(got, float, "best_linear_accuracy(...)")
            expect_close(got, expected, "the best accuracy")
    for number in range(20):
        n, size = draw.int(1, 10), draw.int(1, 6)
        X, y, grid = draw.dyadic(n, 2, low=-8, high=8, scale=4), draw.randint(0, 2, (n,)), draw.dyadic(size)
        with case(f"random point set #{number + 1}", N=n, grid_size=size):
            call = student.best_linear_accuracy.invoke((X, y, grid), return_args=True)
            expect_type(call.value, float, "best_linear_accuracy(...)")
            expect_close(call.value, ref_best(X.tolist(), y.tolist(), grid.tolist()), "the best accuracy",
                         atol=1e-6, rtol=0.0)
            expect_equal([a.tolist() for a in call.args], [X.tolist(), y.tolist(), grid.tolist()],
                         "the inputs after the call (do not modify them)")
    with case("XOR on a 25-value grid"):
        expect_close(student.best_linear_accuracy(T4, torch.tensor(XOR_LABELS), torch.linspace(-3, 3, 25)), 0.75,
                     "the best accuracy", atol=1e-6, rtol=0.0)
    X = draw.dyadic(30, 2, low=-8, high=8, scale=4)
    y = (X[:, 0] * X[:, 1] > 0).long()
    with case("an XOR-like quadrant set of 30 points"):
        expect_close(student.best_linear_accuracy(X, y, torch.linspace(-2, 2, 5)),
                     ref_best(X.tolist(), y.tolist(), torch.linspace(-2, 2, 5).tolist()), "the best accuracy",
                     atol=1e-6, rtol=0.0)


def check_xor_mistakes(student, epochs: int, w: torch.Tensor, b: torch.Tensor, mistakes: list[int]) -> None:
    trainer = student.spy(returns=(w, b, mistakes))
    result = student.perceptron_xor_mistakes(trainer, epochs)
    calls = trainer.calls
    expect(len(calls) == 1, f"perceptron_xor_mistakes must call train_fn exactly once, it called it {len(calls)} times")
    args, kwargs = calls[0]
    given = dict(zip(["X", "y", "lr", "epochs"], args)) | kwargs
    expect(set(given) >= {"X", "y"}, "call train_fn(X, y, lr=..., epochs=...)")
    expect_equal(given["X"].tolist(), XOR_ROWS, "the X given to train_fn (the XOR truth table, in order)")
    expect_equal(given["y"].tolist(), XOR_LABELS, "the y given to train_fn")
    expect(float(given.get("lr", 1.0)) == 1.0 and given.get("epochs", 100) == epochs,
           f"call train_fn with lr=1.0 and epochs={epochs}")
    expect_type(result, tuple, "perceptron_xor_mistakes(...)'s result")
    expect(len(result) == 2, "perceptron_xor_mistakes must return (mistakes_per_epoch, accuracy)")
    expect(is_int_list(result[0]) and result[0] == mistakes, "return the mistakes train_fn reported, as a list of ints")
    expect_type(result[1], float, "the accuracy")
    expect_close(result[1], xor_accuracy(w.tolist(), float(b)), "the accuracy of the final (w, b) on XOR")


# ---------------------------------------------------------------- Part 3

@judge.part("test_xor_solved")
def xor_solved(student, draw):
    with case("visible example"):
        got = student.add_product_feature(torch.tensor([[2.0, 3.0], [-1.0, 4.0], [0.5, 0.0]]))
        expect_close(got, [[2, 3, 6], [-1, 4, -4], [0.5, 0, 0]], "add_product_feature(X)")
    for number in range(10):
        n, dtype = draw.int(1, 20), draw.choice([torch.float32, torch.float32, torch.float64])
        X = draw.randn(n, 2, dtype=dtype) * 3
        with case(f"add_product_feature on random input #{number + 1}", N=n, dtype=dtype):
            call = student.add_product_feature.invoke((X,), return_args=True)
            expect_tensor(call.value, "add_product_feature(X)", dtype=dtype, shape=(n, 3))
            expect_close(call.value, [[a, c, a * c] for a, c in X.tolist()], "add_product_feature(X)", rtol=1e-6)
            expect_equal(call.args[0].tolist(), X.tolist(), "X after the call (do not modify X)")

    weights = student.xor_feature_weights()
    with case("xor_feature_weights()"):
        expect_type(weights, tuple, "xor_feature_weights()'s result")
        expect(len(weights) == 2, "xor_feature_weights() must return (w, b)")
        w, b = weights
        expect_tensor(w, "w", dtype=torch.float32, shape=(3,))
        expect_tensor(b, "b", dtype=torch.float32, shape=())
    table = torch.tensor([[x1, x2, x1 * x2] for x1, x2 in XOR_ROWS])
    with case("the weights on the XOR truth table"):
        expect_equal([int(s > 0) for s in (table @ w + b).tolist()], XOR_LABELS, "the predictions")
    for seed in [draw.new_seed() for _ in range(3)]:
        X, y = make_xor(n=500, noise=0.1, seed=seed)
        features = torch.stack([X[:, 0], X[:, 1], X[:, 0] * X[:, 1]], dim=1)
        accuracy = ((features @ w + b > 0).long() == y).double().mean().item()
        with case("the weights on fresh noisy XOR data", seed=seed):
            expect(accuracy >= 0.95, f"only {accuracy:.1%} right (need ≥ 95%); put the threshold halfway "
                                     "between the classes")

    with case("XorNet()"):
        logits = student.XorNet.invoke(keep=True).value(torch.zeros(5, 2))
        expect_tensor(logits, "XorNet()(x)", shape=(5, 2))
    for seed in [draw.new_seed() for _ in range(3)]:
        with case("train_xor_net on a fresh seed", seed=seed):
            with student.timer() as clock:
                net = student.train_xor_net.invoke((seed,), keep=True, timeout=120).value
            expect_type(net, "XorNet", "train_xor_net(seed)'s result")
            X, y = make_xor(n=500, noise=0.1, seed=seed + 5000)
            table_logits = net.invoke((xor_truth_table()[0],), no_grad=True).value
            expect_tensor(table_logits, "the network's logits", shape=(4, 2))
            expect_equal(table_logits.argmax(dim=1).tolist(), XOR_LABELS, "the predictions on the truth table")
            fresh = net.invoke((X,), no_grad=True).value
            expect_tensor(fresh, "the network's logits", shape=(len(y), 2))
            accuracy = (fresh.argmax(dim=1) == y).double().mean().item()
            expect(accuracy >= 0.95, f"only {accuracy:.1%} of fresh noisy XOR points right (need ≥ 95%)")
            seconds = clock.cpu if clock.cpu is not None else clock.wall
            expect(seconds <= 20.0, f"training took {seconds:.1f} s of CPU time; aim for about 2 s")


# ---------------------------------------------------------------- Part 4

def linear_layer(student, weight: torch.Tensor, bias: torch.Tensor | None):
    """An nn.Linear with these parameters, built in the kernel (the student's code receives real modules)."""
    layer = student.module("torch.nn.Linear").invoke((weight.shape[1], weight.shape[0]), {"bias": bias is not None},
                                                     keep=True).value
    state = {"weight": weight} | ({"bias": bias} if bias is not None else {})
    layer.load_state_dict(state)
    return layer


def stack_in_float64(layers: list[tuple[torch.Tensor, torch.Tensor | None]], x: torch.Tensor) -> torch.Tensor:
    h = x.double()
    for weight, bias in layers:
        h = h @ weight.double().T + (bias.double() if bias is not None else 0.0)
    return h


@judge.part("test_collapse")
def collapse(student, draw):
    examples = [("visible example: two layers", [(torch.tensor([[1.0, 2.0], [0.0, 1.0]]), torch.tensor([1.0, 0.0])),
                                                 (torch.tensor([[1.0, -1.0]]), torch.tensor([3.0]))]),
                ("visible example: one layer without bias",
                 [(torch.tensor([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]]), None)])]
    for number in range(25):
        depth = 1 + number % 5
        widths = [draw.int(1, 8) for _ in range(depth + 1)]
        layers = [(draw.randn(widths[k + 1], widths[k]) / widths[k] ** 0.5,
                   draw.randn(widths[k + 1]) if draw.uniform(0, 1) < 0.8 else None) for k in range(depth)]
        examples.append((f"random stack #{number + 1}", layers))
    for name, layers in examples:
        with case(name, depth=len(layers), widths=tuple([layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers])):
            remote_layers = [linear_layer(student, w, b) for w, b in layers]
            out = student.collapse_linear.invoke((remote_layers,), keep=True).value
            expect_type(out, nn.Linear, "collapse_linear(layers)")
            weight, bias = out.attr("weight"), out.attr("bias")
            n_in, n_out = layers[0][0].shape[1], layers[-1][0].shape[0]
            expect_tensor(weight, "the collapsed weight", dtype=torch.float32, shape=(n_out, n_in), parameter=True)
            expect(bias is not None, "the collapsed layer must have a bias")
            expect_tensor(bias, "the collapsed bias", dtype=torch.float32, shape=(n_out,), parameter=True)
            x = draw.randn(draw.int(1, 16), n_in) * 2
            expected = stack_in_float64(layers, x)
            last_bias_only = stack_in_float64([(w, None) for w, _ in layers[:-1]] + layers[-1:], x)
            scale = max([1.0] + expected.abs().reshape(-1).tolist())
            expect_close(x @ weight.T + bias, expected, "the collapsed layer's output", atol=1e-5 * scale,
                         rtol=1e-5, mistakes={INNER_BIASES_DROPPED: last_bias_only})
            for k, (layer, (w, _)) in enumerate(zip(remote_layers, layers)):
                expect_equal(layer.attr("weight").tolist(), w.tolist(), f"layer {k}'s weight after the call "
                             "(do not modify the input layers)")
                expect(student.module("builtins.id")(out) != student.module("builtins.id")(layer),
                       "return a new nn.Linear, not one of the inputs")
