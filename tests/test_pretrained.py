"""Course checkpoints (SHA-256, clear errors, stated accuracy) and torchvision weights staged from a mirror."""
from __future__ import annotations

import json
import shutil
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torchvision
from torchvision import datasets
from torchvision.models import ResNet18_Weights

from course_utils import mlp_autoencoder, mlp_gan, pretrained, small_resnet
from course_utils.data import image_tensors, load_image_dataset, select_classes
from course_utils.pretrained import (CheckpointUnavailable, PixelFeatures, WeightsUnavailable, build_model,
                                     checkpoint_info, checkpoints, feature_extractor, load_checkpoint, sha256_of,
                                     stage_torchvision_weights, torchvision_model)

ROOT = Path(__file__).resolve().parents[1]
NEEDED = {"resnet8_mnist04", "resnet8_mnist", "resnet8_wide_fashion", "vae_mnist", "gan_mnist"}  # Lectures 08, 11
SLICE = 1000  # test images per checkpoint: enough for a floor 2 points below the stated accuracy


def test_the_registry_lists_each_checkpoint_with_a_small_file_its_sha256_and_how_to_regenerate_it():
    registered = checkpoints()
    assert NEEDED <= set(registered)
    for name, checkpoint in registered.items():
        assert checkpoint.path.is_file() and checkpoint.path.stat().st_size < 3_000_000, name
        assert sha256_of(checkpoint.path) == checkpoint.sha256, name
        assert checkpoint.command == f"python scripts/train_checkpoints.py {name}"
        assert checkpoint.description and checkpoint.training["seconds"] > 0


def test_the_readme_table_is_rendered_from_the_manifest():
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_checkpoints import readme_table
    assert readme_table() in (ROOT / "README.md").read_text(), "run scripts/train_checkpoints.py, or fix the table"


def test_a_checkpoint_file_is_a_plain_float16_state_dict():
    state = torch.load(checkpoint_info("resnet8_mnist04").path, weights_only=True)
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}


@pytest.mark.parametrize("name", sorted(name for name, c in checkpoints().items() if "test_accuracy" in c.metrics))
def test_every_checkpoint_loads_and_reaches_its_stated_accuracy_on_real_test_images(name):
    checkpoint = checkpoint_info(name)
    model = load_checkpoint(name)
    assert not model.training and all(p.dtype == torch.float32 for p in model.parameters())
    images, labels = image_tensors(load_image_dataset(getattr(datasets, checkpoint.dataset), train=False))
    images, labels = select_classes(images, labels, checkpoint.classes)
    with torch.no_grad():
        accuracy = (model(images[:SLICE]).argmax(1) == labels[:SLICE]).float().mean().item()
    floor = checkpoint.metrics["test_accuracy"] - 0.02
    assert accuracy >= floor, f"{name}: {accuracy:.3f} on {SLICE} test images, stated floor {floor:.3f}"


@pytest.mark.parametrize("name, decoder", [("vae_mnist", "decoder"), ("gan_mnist", "generator")])
def test_the_generative_checkpoints_draw_varied_digits_that_the_course_classifier_reads(name, decoder):
    info = checkpoint_info(name)
    assert info.normalization is None and info.metrics["fid_resnet8_mnist"] > 0  # pixels in [0, 1]
    classifier = load_checkpoint("resnet8_mnist")
    mean, std = checkpoint_info("resnet8_mnist").normalization
    z = torch.randn(500, info.arguments["latent_dim"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images = torch.sigmoid(getattr(load_checkpoint(name), decoder)(z)).view(-1, 1, 28, 28)
        probabilities = torch.softmax(classifier((images - mean) / std), dim=1)
    counts = probabilities.argmax(1).bincount(minlength=10)
    # every digit is drawn and none dominates (Lecture 11 shows the GAN's partial mode collapse, not a total one)
    assert (counts > 0).all() and counts.max() < 200, f"{name}: digits drawn per class {counts.tolist()} (collapse?)"
    confident = (probabilities.max(1).values > 0.9).float().mean().item()
    assert confident > 0.5, f"{name}: only {confident:.0%} of 500 samples are read with probability > 0.9"


def test_build_model_gives_the_same_architecture_with_fresh_weights():
    trained, fresh = load_checkpoint("resnet8_mnist"), build_model("resnet8_mnist")
    assert trained.state_dict().keys() == fresh.state_dict().keys()
    assert not torch.equal(trained.conv1.weight, fresh.conv1.weight)


def test_the_feature_extractor_gives_what_the_head_sees_and_is_frozen():
    model, features = load_checkpoint("resnet8_mnist"), feature_extractor("resnet8_mnist")
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        f = features(x)
        assert f.shape == (8, model.fc.in_features)
        torch.testing.assert_close(model.fc(f), model(x))
    assert not any(p.requires_grad for p in features.parameters()) and not features.training


def test_pixel_features_standardise_pixels_and_give_what_the_feature_extractor_gives():
    pixels = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    network = PixelFeatures("resnet8_mnist")
    mean, std = checkpoint_info("resnet8_mnist").normalization
    with torch.no_grad():
        expected = feature_extractor("resnet8_mnist")((pixels - mean) / std)
    assert network.num_features == expected.shape[1] == 64
    torch.testing.assert_close(network(pixels), expected)
    as_bytes = (pixels * 255).round().to(torch.uint8)
    torch.testing.assert_close(network(as_bytes), network(as_bytes.float() / 255))
    assert not network.train().training and not any(p.requires_grad for p in network.parameters())


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # features that noise leaves at 0: singular
def test_pixel_features_give_torchmetrics_fid_offline_as_the_formula_with_scipy():
    from torchmetrics.image.fid import FrechetInceptionDistance

    generator = torch.Generator().manual_seed(1)
    real = torch.rand(150, 1, 28, 28, generator=generator)
    fake = (real.roll(1, dims=-1) * 0.7 + 0.3 * torch.rand(150, 1, 28, 28, generator=generator)).clamp(0, 1)
    fid = FrechetInceptionDistance(feature=PixelFeatures("resnet8_mnist"), normalize=True)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    network = PixelFeatures("resnet8_mnist")
    a, b = network(real).double().numpy(), network(fake).double().numpy()
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    formula = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root)
    assert fid.compute().item() == pytest.approx(formula, rel=1e-3)


def test_the_generative_architectures_have_the_stated_shapes():
    vae = mlp_autoencoder(latent_dim=5, hidden=[32, 16])
    assert vae.encoder(torch.rand(7, 1, 28, 28)).shape == (7, 10)  # μ and log σ²
    assert vae.decoder(torch.randn(7, 5)).shape == (7, 28 * 28)
    assert mlp_autoencoder(latent_dim=5, variational=False).encoder(torch.rand(2, 784)).shape == (2, 5)
    gan = mlp_gan(latent_dim=8, hidden=[16, 32])
    assert gan.generator(torch.randn(3, 8)).shape == (3, 784)
    assert gan.discriminator(torch.rand(3, 1, 28, 28)).shape == (3, 1)
    assert [m.out_features for m in gan.discriminator[1] if isinstance(m, torch.nn.Linear)] == [32, 16, 1]


@pytest.fixture
def checkpoint_copy(tmp_path, monkeypatch) -> Path:
    """The checkpoint folder copied to a temporary place, which the loader then uses."""
    folder = tmp_path / "checkpoints"
    shutil.copytree(pretrained.CHECKPOINT_DIR, folder)
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", folder)
    monkeypatch.setattr(pretrained, "MANIFEST", folder / "manifest.json")
    return folder


def test_a_corrupt_checkpoint_is_rejected_with_the_command_that_regenerates_it(checkpoint_copy):
    path = checkpoint_copy / checkpoint_info("resnet8_mnist04").file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointUnavailable) as error:
        load_checkpoint("resnet8_mnist04")
    message = str(error.value)
    assert "corrupt" in message and sha256_of(path) in message
    assert "python scripts/train_checkpoints.py resnet8_mnist04" in message and "\n" not in message


def test_a_missing_checkpoint_says_so_and_how_to_get_it_back(checkpoint_copy):
    (checkpoint_copy / checkpoint_info("resnet8_wide_fashion").file).unlink()
    with pytest.raises(CheckpointUnavailable, match="missing") as error:
        feature_extractor("resnet8_wide_fashion")
    assert "python scripts/train_checkpoints.py resnet8_wide_fashion" in str(error.value)


def test_an_unknown_name_lists_the_registered_checkpoints(checkpoint_copy):
    with pytest.raises(CheckpointUnavailable, match="resnet8_mnist04"):
        load_checkpoint("resnet1000_imagenet")


def test_a_new_manifest_entry_is_all_it_takes_to_register_a_checkpoint(checkpoint_copy):
    arguments = {"num_classes": 3, "widths": [4, 8]}
    model = small_resnet(**arguments)
    torch.save(model.state_dict(), checkpoint_copy / "tiny.pt")
    manifest = json.loads((checkpoint_copy / "manifest.json").read_text())
    manifest["checkpoints"]["tiny"] = {"architecture": "small_resnet", "arguments": arguments, "file": "tiny.pt",
                                       "sha256": sha256_of(checkpoint_copy / "tiny.pt"), "description": "a test"}
    (checkpoint_copy / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_checkpoint("tiny")
    torch.testing.assert_close(loaded.fc.weight, model.fc.weight)
    assert checkpoint_info("tiny").metrics == {} and "resnet8_mnist" in checkpoints()


# --- torchvision's weights through the torch hub cache and the offline mirror ---------------------------------


@pytest.fixture
def offline_hub(tmp_path, no_course_env) -> pytest.MonkeyPatch:
    """An empty torch hub cache in a temporary TORCH_HOME (never the real one), and no network."""
    no_course_env.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_download(url, *args, **kwargs):
        raise urllib.error.URLError(f"no network in tests ({url})")

    no_course_env.setattr(torch.hub, "download_url_to_file", no_download)
    return no_course_env


def random_resnet18_file(folder: Path, weights: ResNet18_Weights, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Random resnet18 weights saved under the torch hub name of `weights`; returns the state_dict.

    Torch hub names carry the first SHA-256 digits of the file (`resnet18-f37072fd.pth`), which random weights
    cannot match, so the URL's hash part is set to the random file's own digits for the duration of the test.
    """
    state = torchvision.models.resnet18(weights=None).state_dict()
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / "scratch.pth"
    torch.save(state, scratch)
    url = weights.url.rsplit("-", 1)[0] + f"-{sha256_of(scratch)[:8]}.pth"
    monkeypatch.setattr(weights.value, "url", url)
    scratch.rename(folder / url.rsplit("/", 1)[1])
    return state


def test_imagenet_weights_are_staged_from_the_mirror_and_loaded_by_torchvision_itself(offline_hub, tmp_path):
    weights = ResNet18_Weights.IMAGENET1K_V1
    mirror = tmp_path / "mirror"
    state = random_resnet18_file(mirror, weights, offline_hub)
    offline_hub.setenv("COURSE_WEIGHTS_MIRROR", str(mirror))

    cached = stage_torchvision_weights(weights)
    assert cached.parent == tmp_path / "torch" / "hub" / "checkpoints"
    assert [p.name for p in cached.parent.iterdir()] == [cached.name] == [p.name for p in mirror.iterdir()]
    model = torchvision.models.resnet18(weights=weights)  # the official API finds the staged file
    torch.testing.assert_close(model.fc.weight, state["fc.weight"])

    offline_hub.delenv("COURSE_WEIGHTS_MIRROR")  # once cached, the mirror is no longer needed
    again = torchvision_model("resnet18", weights="IMAGENET1K_V1")
    torch.testing.assert_close(again.conv1.weight, state["conv1.weight"])


def test_a_corrupt_mirror_file_is_rejected_and_nothing_enters_the_cache(offline_hub, tmp_path):
    weights = ResNet18_Weights.IMAGENET1K_V1
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / weights.url.rsplit("/", 1)[1]).write_bytes(b"not the weights")  # the real name, wrong bytes
    offline_hub.setenv("COURSE_WEIGHTS_MIRROR", str(mirror))
    with pytest.raises(WeightsUnavailable, match="corrupt"):
        torchvision_model("resnet18", weights=weights)
    assert list((tmp_path / "torch" / "hub" / "checkpoints").iterdir()) == []


def test_without_mirror_and_network_the_error_is_one_paragraph_on_how_to_fix_it(offline_hub, tmp_path):
    with pytest.raises(WeightsUnavailable) as error:
        torchvision_model("resnet18", weights="DEFAULT")
    message = str(error.value)
    file_name = ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1]
    assert "COURSE_WEIGHTS_MIRROR" in message and file_name in message and "\n" not in message
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / file_name).exists()


def test_random_initialisation_needs_no_weights(offline_hub):
    model = torchvision_model("resnet18", weights=None, num_classes=7)
    assert model.fc.out_features == 7
