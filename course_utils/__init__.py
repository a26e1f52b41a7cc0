"""Shared, GPU-aware helpers for the deep-learning course notebooks.

    from course_utils import choose_device, seed_everything, load_mnist, fit
"""
from .data import (DatasetUnavailable, TensorLoader, data_root, image_tensors, load_fashion_mnist,
                   load_mnist)
from .device import DeviceChoice, choose_device, get_device
from .plot import LivePlot, plot_decision_boundary, show_images
from .seed import seed_everything
from .synthetic import make_blobs, make_moons, make_spirals, make_xor, xor_truth_table
from .train import accuracy, evaluate, fit, train_epoch
from .widgets import explore

__all__ = [
    "DatasetUnavailable", "DeviceChoice", "LivePlot", "TensorLoader", "accuracy", "choose_device",
    "data_root", "evaluate", "explore", "fit", "get_device", "image_tensors", "load_fashion_mnist",
    "load_mnist", "make_blobs", "make_moons", "make_spirals", "make_xor", "plot_decision_boundary",
    "seed_everything", "show_images", "train_epoch", "xor_truth_table",
]
