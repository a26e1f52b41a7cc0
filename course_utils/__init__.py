"""Shared, GPU-aware helpers for the deep-learning course notebooks.

    from course_utils import choose_device, seed_everything, load_mnist, fit

Names are imported from their modules on first use, so `import course_utils` itself is instant.
"""
import importlib

_EXPORTS = {
    "architectures": ["mlp_autoencoder", "mlp_gan", "small_resnet"],
    "data": ["AugmentedLoader", "TensorLoader", "image_tensors", "load_fashion_mnist", "load_mnist", "select_classes"],
    "device": ["DeviceChoice", "choose_device", "get_device"],
    "draw": ["class_colors", "draw_scene", "show_scenes"],
    "paths": ["DatasetUnavailable", "data_root", "mirror_dir", "weights_mirror_dir"],
    "pretrained": ["CheckpointUnavailable", "PixelFeatures", "WeightsUnavailable", "build_model", "checkpoint_info",
                   "checkpoints", "feature_extractor", "load_checkpoint", "stage_torchvision_weights",
                   "torchvision_model"],
    "plot": ["LivePlot", "plot_decision_boundary", "show_images", "show_matrices"],
    "scenes": ["Scenes", "make_scenes"],
    "seed": ["seed_everything"],
    "synthetic": ["make_blobs", "make_moons", "make_spirals", "make_xor", "xor_truth_table"],
    "text_data": ["load_nltk_data", "load_text", "nltk_data_dir", "text_path"],
    "train": ["accuracy", "evaluate", "fit", "train_epoch"],
    "widgets": ["explore"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)


def __dir__() -> list[str]:
    return __all__
