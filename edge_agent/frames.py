"""The frame: one decoded image from a camera, the unit every stage of the agent passes on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from edge_agent.shrink import shrink

#: Longer side of the copy that per-frame statistics and the near-duplicate hash are computed on:
#: one scale for every camera (blur, the variance of the Laplacian, depends on it).
THUMBNAIL_SIDE = 256


@dataclass(slots=True)
class Frame:
    """One image read from a source.

    image: BGR uint8, shape (H, W, 3), as OpenCV decodes it.
    captured_at: UTC time of capture; for a video file it is the start time plus the
    frame's own timestamp, so a file replays with its recorded spacing.
    source: what was read (a file path, or a URL with any password masked).
    index: position of the frame in its source, counting from 0.
    """

    camera_id: str
    index: int
    image: np.ndarray
    captured_at: datetime
    source: str
    _thumbnail: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def thumbnail(self) -> np.ndarray:
        """The image shrunk to ``THUMBNAIL_SIDE`` on its longer side, made once per frame and
        shared by the telemetry statistics and the sampler's hash."""
        if self._thumbnail is None:
            self._thumbnail = shrink(self.image, THUMBNAIL_SIDE)
        return self._thumbnail

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
