"""The training loop learns, records its history, and draws one live figure."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import course_utils.plot as plot_module
import course_utils.train as train_module
from course_utils import TensorLoader, accuracy, evaluate, fit, make_blobs, seed_everything, train_epoch


@pytest.fixture
def displays(monkeypatch):
    """Capture what the live plot sends to the notebook: ('display' | 'update', figure)."""
    shown = []

    class Handle:
        def update(self, fig):
            shown.append(("update", fig))

    def fake_display(fig, display_id=False):
        shown.append(("display", fig))
        return Handle()

    monkeypatch.setattr(plot_module, "display", fake_display)
    return shown


def blobs_loaders():
    x, y = make_blobs(n=400, std=0.4, seed=0)
    return TensorLoader(x[:300], y[:300], batch_size=32, shuffle=True, seed=0), TensorLoader(x[300:], y[300:])


def test_accuracy_counts_argmax_matches():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_fit_learns_and_records_every_metric_per_epoch(displays, no_course_env):
    no_course_env.setenv("COURSE_WIDGETS", "live")
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    train, val = blobs_loaders()
    before = evaluate(model, val)
    history = fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, val_loader=val,
                  device=torch.device("cpu"), progress=False)
    assert set(history) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(len(values) == 3 for values in history.values())
    assert history["val_loss"][-1] < before["loss"] and history["val_acc"][-1] > 0.95
    assert [kind for kind, _ in displays] == ["display", "update", "update"]
    assert len(displays[-1][1].axes) == 2


def test_fit_steps_a_per_batch_scheduler_and_can_skip_the_plot(displays):
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    train, _ = blobs_loaders()
    fit(model, train, optimizer, epochs=2, scheduler=scheduler, device=torch.device("cpu"),
        plot=False, progress=False)
    assert scheduler.last_epoch == 2 * len(train) and displays == []


def test_evaluate_is_repeatable_because_it_runs_in_eval_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.9))
    _, val = blobs_loaders()
    first, second = evaluate(model, val), evaluate(model, val)
    assert first == second and not model.training


def test_headless_fit_draws_one_figure_at_the_end(displays, no_course_env):
    model = nn.Linear(2, 2)
    train, val = blobs_loaders()
    fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, val_loader=val,
        device=torch.device("cpu"), progress=False)
    assert [kind for kind, _ in displays] == ["display"]
    assert len(displays[0][1].axes[0].lines[0].get_ydata()) == 3  # all three epochs


def test_a_penalty_counts_in_the_training_loss_only(displays):
    train, val = blobs_loaders()
    histories = []
    for penalty in (None, lambda model: 100 * model.weight.abs().sum()):
        seed_everything(0)
        model = nn.Linear(2, 2)
        histories.append(fit(model, train, torch.optim.SGD(model.parameters(), lr=1e-3), epochs=1, val_loader=val,
                             device=torch.device("cpu"), plot=False, progress=False, penalty=penalty))
    plain, penalised = histories
    assert penalised["train_loss"][0] > plain["train_loss"][0] + 10
    assert penalised["val_loss"][0] < plain["train_loss"][0] + 1  # a plain cross-entropy, no penalty in it


def test_accuracy_of_a_segmentation_net_counts_pixels_not_images():
    images = torch.zeros(3, 1, 4, 5)
    targets = torch.zeros(3, 4, 5, dtype=torch.int64)
    targets[0, 0, :2] = 1  # 2 of 60 pixels belong to class 1; the model below always says class 0
    model = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.tensor([1.0, 0.0]))
    result = evaluate(model, [(images, targets)], device=torch.device("cpu"))
    assert result["acc"] == pytest.approx(58 / 60)
    assert accuracy(model(images), targets) == pytest.approx(58 / 60)


class CountingScaler(torch.amp.GradScaler):
    """A GradScaler that records its instances and how often it stepped."""
    made: list["CountingScaler"] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = 0
        CountingScaler.made.append(self)

    def step(self, optimizer, *args, **kwargs):
        self.steps += 1
        return super().step(optimizer, *args, **kwargs)


@pytest.fixture
def scalers(monkeypatch):
    CountingScaler.made = []
    monkeypatch.setattr(torch.amp, "GradScaler", CountingScaler)
    return CountingScaler.made


def output_dtypes(model: nn.Module) -> list[torch.dtype]:
    """Record the dtype of every output of `model`'s first layer (what autocast computed in)."""
    seen = []
    model[0].register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return seen


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_trains_with_one_gradient_scaler_per_fit(scalers, dtype):
    """The AMP path of `fit`, on the CPU: autocast in `dtype`, and float16's loss scaling (one scaler for the run)."""
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    dtypes = output_dtypes(model)
    train, val = blobs_loaders()
    history = fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, val_loader=val,
                  device="cpu", plot=False, progress=False, precision=dtype)
    assert history["val_acc"][-1] > 0.9 and set(dtypes) == {dtype}
    assert len(scalers) == 1 and scalers[0].is_enabled() == (dtype == torch.float16)
    assert scalers[0].steps == 3 * len(train)


def test_precision_none_trains_in_float32_and_auto_is_float32_on_the_cpu():
    for precision in (None, "auto"):
        model = nn.Sequential(nn.Linear(2, 2))
        dtypes = output_dtypes(model)
        train, _ = blobs_loaders()
        train_epoch(model, train, torch.optim.SGD(model.parameters(), lr=0.1), device="cpu", progress=False,
                    precision=precision)
        assert set(dtypes) == {torch.float32}


def test_an_empty_loader_is_a_clear_error():
    model = nn.Linear(2, 2)
    empty = TensorLoader(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="training loader yielded no batches"):
        fit(model, empty, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, device="cpu", plot=False,
            progress=False)
    with pytest.raises(ValueError, match="evaluation loader yielded no batches"):
        evaluate(model, empty, device="cpu")


def test_fit_train_epoch_and_evaluate_default_to_the_same_device(monkeypatch):
    chosen = []

    def course_device():
        chosen.append("get_device")
        return torch.device("cpu")

    monkeypatch.setattr(train_module, "get_device", course_device)
    moved = []
    model = nn.Sequential(nn.Linear(2, 2))
    original_to = model.to
    monkeypatch.setattr(model, "to", lambda device: moved.append(torch.device(device)) or original_to(device))
    train, val = blobs_loaders()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, train, optimizer, epochs=1, plot=False, progress=False)
    chosen_by_fit = len(chosen)
    train_epoch(model, train, optimizer, progress=False)
    evaluate(model, val)
    assert chosen_by_fit >= 1 and len(chosen) == chosen_by_fit + 2
    assert set(moved) == {torch.device("cpu")}


def test_evaluate_works_for_a_model_without_parameters():
    _, val = blobs_loaders()
    assert 0 <= evaluate(nn.Identity(), val, device="cpu")["acc"] <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_cuda_uses_mixed_precision_by_default(scalers):
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    dtypes = output_dtypes(model)
    train, val = blobs_loaders()
    history = fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, val_loader=val,
                  device="cuda", plot=False, progress=False)
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert history["val_acc"][-1] > 0.9 and set(dtypes) == {expected} and len(scalers) == 1
    assert next(model.parameters()).device.type == "cuda"
