"""A plain project-1 submission: small convnets, no tricks (calibration fixture, see ../README.md)."""

import torch
from torch import nn


def branch():
    """conv 3×3 1→32, ReLU, max-pool 2, conv 3×3 32→64, ReLU, max-pool 2, linear 256→128, ReLU, linear 128→10."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10),
    )


class BaselineNet(nn.Module):
    """The two digits as two channels of one convnet. 52,258 parameters."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(2, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 2),
        )

    def forward(self, x):
        return self.net(x / 255), None


class SiameseNet(nn.Module):
    """One branch for both digits, a small head on the two 10-feature outputs. 54,476 parameters."""

    def __init__(self):
        super().__init__()
        self.branch = branch()
        self.head = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))

    def forward(self, x):
        x = x / 255
        features = torch.cat([self.branch(x[:, 0:1]), self.branch(x[:, 1:2])], dim=1)
        return self.head(features), None


class AuxiliaryNet(nn.Module):
    """The same shared branch; its outputs are the digit logits, and the head compares them. 54,476 parameters."""

    def __init__(self):
        super().__init__()
        self.branch = branch()
        self.head = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))

    def forward(self, x):
        x = x / 255
        first, second = self.branch(x[:, 0:1]), self.branch(x[:, 1:2])
        return self.head(torch.cat([first, second], dim=1)), torch.stack([first, second], dim=1)
