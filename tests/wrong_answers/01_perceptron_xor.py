"""Assignment 01: a perceptron that never updates its bias, and a collapse that ignores biases."""

WRONG_ANSWERS = {
    'perceptron': """def perceptron_predict(X, w, b):
    return (X @ w + b > 0).to(torch.int64)

def train_perceptron(X, y, lr=1.0, epochs=100):
    w = torch.zeros(X.shape[1]); b = torch.zeros(())
    hist = []
    for _ in range(epochs):
        m = 0
        for x_i, y_i in zip(X, y.tolist()):
            p = 1 if float(x_i @ w + b) > 0 else 0
            if p != y_i:
                w = w + lr * (y_i - p) * x_i
                m += 1
        hist.append(m)
        if m == 0:
            break
    return w, b, hist
""",
    'collapse': """def collapse_linear(layers):
    W = layers[0].weight.detach().clone()
    for layer in layers[1:]:
        W = layer.weight.detach() @ W
    out = nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        out.weight.copy_(W)
        b = layers[-1].bias if layers[-1].bias is not None else torch.zeros(W.shape[0])
        out.bias.copy_(b)
    return out
""",
}
# What the judge's feedback must name for each of them (test cell grade id -> the mistake it reports).
MISTAKES = {
    "test_perceptron": "b is never updated (only w moves)",
    "test_collapse": "the biases of all layers but the last are left out",
}
