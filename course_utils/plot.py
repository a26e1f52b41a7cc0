"""Figures the lectures share: live training curves, decision boundaries, image grids, small matrices."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from .widgets import is_live_frontend


class LivePlot:
    """Training curves redrawn in place after each epoch; the last drawing stays as a static figure.

    In JupyterLab the figure updates live. Executed headless (nbconvert, nbval, nbgrader) nobody watches,
    so only the final update draws: the saved notebook holds exactly one figure, and no time goes into
    pictures that would be replaced. `live` overrides the guess.
    """

    def __init__(self, metrics: Sequence[str] = ("loss", "acc"), live: bool | None = None):
        self.metrics = tuple(metrics)
        self.live = is_live_frontend() if live is None else live
        self.handle = None

    def draw(self, history: dict[str, list[float]]) -> plt.Figure:
        fig, axes = plt.subplots(1, len(self.metrics), figsize=(4.5 * len(self.metrics), 3.2), squeeze=False)
        for ax, metric in zip(axes[0], self.metrics):
            for split in ("train", "val"):
                values = history.get(f"{split}_{metric}", [])
                if values:
                    ax.plot(range(1, len(values) + 1), values, marker="o", label=split)
            ax.set(xlabel="epoch", ylabel=metric, title=metric)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend()
        fig.tight_layout()
        plt.close(fig)  # shown through display(), not through the inline backend a second time
        return fig

    def update(self, history: dict[str, list[float]], final: bool = False) -> None:
        """Show the curves of `history` so far (headless: only when `final`)."""
        if not (self.live or final):
            return
        fig = self.draw(history)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)


def plot_decision_boundary(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                           ax: plt.Axes | None = None, resolution: int = 200, title: str | None = None,
                           size: float = 25) -> plt.Axes:
    """Shade the plane by `predict(points) -> class ids` and scatter the 2-D data (marker `size`) on top.

    Colours are fixed per class, so a plane predicted as one class keeps that class's colour.
    """
    ax = ax or plt.gca()
    pad = 0.5
    (x0, y0), (x1, y1) = (x.min(0).values - pad).tolist(), (x.max(0).values + pad).tolist()
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, resolution), torch.linspace(y0, y1, resolution), indexing="xy")
    with torch.no_grad():
        z = predict(torch.stack([gx.ravel(), gy.ravel()], dim=1)).reshape(gx.shape).float().cpu()
    x, y = x.detach().cpu().numpy(), y.detach().cpu().numpy()
    classes = int(max(z.max().item(), y.max())) + 1
    colours = {"cmap": "coolwarm", "vmin": 0, "vmax": max(classes - 1, 1)}
    ax.contourf(gx.numpy(), gy.numpy(), z.numpy(), levels=np.arange(classes + 1) - 0.5, alpha=0.3, **colours)
    ax.scatter(x[:, 0], x[:, 1], c=y, edgecolors="k", s=size, **colours)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    return ax


def show_images(images: torch.Tensor, labels: Sequence | None = None, ncols: int = 8,
                cmap: str = "gray", size: float = 1.2) -> plt.Figure:
    """A grid of (N, 1, H, W) or (N, H, W) images with optional titles."""
    images = images.detach().cpu()
    if images.dim() == 4:
        images = images[:, 0]
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i].numpy(), cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    fig.tight_layout()
    return fig


def show_matrices(matrices: Sequence, titles: Sequence[str] | None = None, cell: float = 0.42,
                  cmap: str = "Blues") -> plt.Figure:
    """Small 2-D matrices side by side with every entry written in its cell (hand-checkable examples)."""
    tensors = [torch.as_tensor(m).detach().cpu() for m in matrices]
    arrays = [t.reshape(t.shape[-2:]).numpy() for t in tensors]  # (1, 1, H, W) batches are shown as (H, W)
    widths = [a.shape[1] for a in arrays]
    height = max(a.shape[0] for a in arrays)
    fig, axes = plt.subplots(1, len(arrays), figsize=(cell * (sum(widths) + 1.2 * len(arrays)), cell * height + 0.6),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for k, (ax, a) in enumerate(zip(axes[0], arrays)):
        ax.imshow(a.astype(float), cmap=cmap, alpha=0.4)
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, f"{v:.4g}", ha="center", va="center", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    fig.tight_layout()
    return fig
