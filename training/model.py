"""The audio-to-mouth network: a small non-causal dilated conv stack over log-mel frames.

mel [batch, 80, frames] -> articulation [batch, 9, frames] in [0, 1], one output per mel
frame (80 Hz). Zero padding at the ends reads as silence (the front end maps silence to 0).
Receptive field: 5 + 2 * sum(DILATIONS) = 37 frames, +-0.23 s around each frame: Wav2Lip's
0.2 s window, plus coarticulation context either side.
"""

from __future__ import annotations

import torch
from torch import nn

from pipeline.mouth import net
from pipeline.types import ARTICULATION

WIDTH = 128
DILATIONS = (1, 2, 4, 8, 1)


class ChannelNorm(nn.Module):
    """Layer norm over channels, per frame: independent of clip length (unlike batch or group norm)."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class Block(nn.Module):
    """Pre-norm residual: dilated 3-tap conv, ReLU, 1x1 conv."""

    def __init__(self, width: int, dilation: int, dropout: float):
        super().__init__()
        self.norm = ChannelNorm(width)
        self.conv1 = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.drop(torch.relu(self.conv1(self.norm(x)))))


class MouthNet(nn.Module):
    def __init__(self, width: int = WIDTH, dilations: tuple[int, ...] = DILATIONS, dropout: float = 0.0):
        super().__init__()
        self.inp = nn.Conv1d(net.N_MELS, width, 5, padding=2)
        self.blocks = nn.Sequential(*[Block(width, d, dropout) for d in dilations])
        self.norm = ChannelNorm(width)
        self.out = nn.Conv1d(width, len(ARTICULATION), 1)

    def logits(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.inp(mel))
        return self.out(torch.relu(self.norm(x)))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(mel))
