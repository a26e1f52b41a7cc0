"""Interactive demos that also leave a static figure when a notebook is executed headless."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import ipywidgets
from IPython.display import display

WIDGETS_ENV = "COURSE_WIDGETS"


def is_live_frontend() -> bool:
    """True inside a Jupyter server session (JupyterLab, Notebook); False under nbconvert/nbval/nbgrader.

    Jupyter Server names the notebook in $JPY_SESSION_NAME for the kernels it starts; headless
    executors do not. $COURSE_WIDGETS=live or =static overrides the guess.
    """
    forced = os.environ.get(WIDGETS_ENV, "").strip().lower()
    if forced in ("live", "static"):
        return forced == "live"
    return "JPY_SESSION_NAME" in os.environ


def _default_value(control: Any) -> Any:
    if isinstance(control, ipywidgets.ValueWidget):
        return control.value
    if isinstance(control, tuple) and len(control) >= 2 and all(isinstance(v, (int, float)) for v in control):
        return control[0] + (control[1] - control[0]) / 2 if len(control) < 4 else control[3]
    if isinstance(control, (list, tuple)):
        return control[0]
    return control


def explore(draw: Callable[..., Any], **controls: Any) -> None:
    """Show `draw(**values)` with a slider/dropdown per control (same syntax as `ipywidgets.interact`).

    In a live frontend the figure follows the controls. Headless, `draw` runs once with each control's
    default, so the saved notebook shows a normal static figure instead of an empty widget.
    Give explicit widgets (e.g. `FloatSlider(value=...)`) to choose the defaults shown.
    """
    if is_live_frontend():
        display(ipywidgets.interactive(draw, **controls))
    else:
        draw(**{name: _default_value(control) for name, control in controls.items()})
