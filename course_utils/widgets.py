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


def _call_with_defaults(draw: Callable[..., Any], controls: dict[str, Any]) -> None:
    """Call `draw` once with the values the live controls would start at.

    ipywidgets itself turns the controls into widgets (in manual mode, which runs nothing), so the defaults
    are exactly the live ones: `(0, 10)` starts an IntSlider at 5, `draw`'s own keyword defaults win, and
    a control that `interact` rejects is rejected here too.
    """
    form = ipywidgets.interactive(draw, {"manual": True}, **controls)
    values = {widget._kwarg: widget.value for widget in form.kwargs_widgets}
    made = [w for w in (*form.kwargs_widgets, form.manual_button, form.out, form)
            if isinstance(w, ipywidgets.Widget) and not any(w is given for given in controls.values())]
    for widget in made:  # made only to read their values: nothing to show, nothing to keep
        for part in (getattr(widget, "layout", None), getattr(widget, "style", None), widget):
            if isinstance(part, ipywidgets.Widget):
                part.close()
    draw(**values)


def explore(draw: Callable[..., Any], **controls: Any) -> None:
    """Show `draw(**values)` with a slider/dropdown per control (same syntax as `ipywidgets.interact`).

    In a live frontend the figure follows the controls. Headless, `draw` runs once with each control's
    starting value, so the saved notebook shows a normal static figure instead of an empty widget.
    Give explicit widgets (e.g. `FloatSlider(value=...)`) to choose the values shown.
    """
    if is_live_frontend():
        display(ipywidgets.interactive(draw, **controls))
    else:
        _call_with_defaults(draw, controls)
