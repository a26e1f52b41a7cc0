"""Figures draw what they should; widgets fall back to a static figure when headless."""
from __future__ import annotations

import ipywidgets
import matplotlib
import pytest
import torch

import course_utils.widgets as widgets_module
from course_utils import LivePlot, explore, plot_decision_boundary, show_images, show_matrices, xor_truth_table
from course_utils.widgets import is_live_frontend

matplotlib.use("Agg")


def test_live_plot_draws_train_and_val_curves_per_metric():
    fig = LivePlot(("loss", "acc")).draw({"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "train_acc": [0.5, 0.8]})
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train", "val"]
    assert [line.get_label() for line in acc_ax.lines] == ["train"]
    assert list(loss_ax.lines[1].get_ydata()) == [1.1, 0.7]


def test_decision_boundary_shades_by_the_prediction():
    x, y = xor_truth_table()
    ax = plot_decision_boundary(lambda p: (p[:, 0] > 0.5).long(), x, y, title="x1 > 0.5")
    assert ax.get_title() == "x1 > 0.5" and len(ax.collections) >= 2


def test_show_images_makes_a_grid_with_titles():
    fig = show_images(torch.rand(10, 1, 28, 28), labels=list(range(10)), ncols=4)
    assert len(fig.axes) == 12 and fig.axes[9].get_title() == "9" and fig.axes[11].get_title() == ""


def test_show_matrices_writes_every_entry_in_its_cell():
    fig = show_matrices([torch.tensor([[10.0, 20.0], [30.0, 40.0]]), torch.arange(6).reshape(1, 1, 2, 3)],
                        titles=["input", "output"])
    first, second = fig.axes
    assert [t.get_text() for t in first.texts] == ["10", "20", "30", "40"] and first.get_title() == "input"
    assert [t.get_text() for t in second.texts] == ["0", "1", "2", "3", "4", "5"]


@pytest.mark.parametrize("env, forced, live", [({}, None, False), ({"JPY_SESSION_NAME": "x.ipynb"}, None, True),
                                               ({"JPY_SESSION_NAME": "x.ipynb"}, "static", False),
                                               ({}, "live", True)])
def test_live_frontend_detection_and_override(no_course_env, env, forced, live):
    for name, value in env.items():
        no_course_env.setenv(name, value)
    if forced:
        no_course_env.setenv("COURSE_WIDGETS", forced)
    assert is_live_frontend() is live


def test_headless_explore_draws_once_with_the_defaults(no_course_env):
    calls = []
    explore(lambda w, b, kind: calls.append((w, b, kind)),
            w=ipywidgets.FloatSlider(value=0.25, min=-1, max=1), b=(-2.0, 2.0), kind=["AND", "XOR"])
    assert calls == [(0.25, 0.0, "AND")]


def explore_calls(live: bool, no_course_env, monkeypatch, **controls) -> list:
    """The calls `explore` makes of a drawing function, live (its first drawing) or headless."""
    calls = []

    def draw(n, x, kind, fixed_one, from_signature=7):
        calls.append((n, x, kind, fixed_one, from_signature))

    no_course_env.setenv("COURSE_WIDGETS", "live" if live else "static")
    monkeypatch.setattr(widgets_module, "display", lambda widget: None)
    explore(draw, **controls)
    return calls


@pytest.mark.parametrize("live", [False, True])
def test_explore_starts_where_ipywidgets_starts_live_and_headless(no_course_env, monkeypatch, live):
    calls = explore_calls(live, no_course_env, monkeypatch, n=(0, 9), x=(0.0, 1.0, 0.25), kind=["a", "b"],
                          fixed_one=ipywidgets.fixed(3), from_signature=(0, 10))
    assert calls == [(4, 0.5, "a", 3, 7)]
    n, x, *_ = calls[0]
    assert type(n) is int and type(x) is float  # an integer range gives an IntSlider, as in ipywidgets


@pytest.mark.parametrize("live", [False, True])
def test_explore_rejects_what_ipywidgets_rejects_live_and_headless(no_course_env, monkeypatch, live):
    with pytest.raises(ValueError, match="cannot be transformed to a widget"):
        explore_calls(live, no_course_env, monkeypatch, n=(0, 10, 1, 5), x=0.5, kind="a", fixed_one=1)


def test_headless_explore_leaves_no_widgets_open(no_course_env):
    from ipywidgets.widgets.widget import _instances as open_widgets
    slider = ipywidgets.IntSlider(value=2)
    before = set(open_widgets)
    explore(lambda n, m: None, n=slider, m=(0, 4))
    assert set(open_widgets) == before and slider.model_id in open_widgets


def test_live_explore_shows_an_interactive_widget(no_course_env, monkeypatch):
    no_course_env.setenv("COURSE_WIDGETS", "live")
    shown = []
    monkeypatch.setattr(widgets_module, "display", shown.append)
    explore(lambda w: None, w=(0.0, 1.0))
    assert len(shown) == 1 and isinstance(shown[0], ipywidgets.interactive)


def test_decision_boundary_keeps_class_colours_when_one_class_fills_the_plane():
    import numpy as np
    x, y = xor_truth_table()
    ax = plot_decision_boundary(lambda p: torch.ones(len(p), dtype=torch.long), x, y, size=80)
    fill = ax.collections[0]
    assert fill.norm.vmin == 0 and fill.norm.vmax == 1
    assert list(np.asarray(fill.levels)) == [-0.5, 0.5, 1.5]
    assert list(ax.collections[-1].get_sizes()) == [80]
