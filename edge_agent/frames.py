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
    #: the image already scaled by shrink's first step (``thumbnail_from_scaled``), or None
    _scaled: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def thumbnail(self) -> np.ndarray:
        """The image shrunk to ``THUMBNAIL_SIDE`` on its longer side, made once per frame and
        shared by the telemetry statistics and the sampler's hash."""
        if self._thumbnail is None:
            start = self.image if self._scaled is None else self._scaled
            self._thumbnail = shrink(start, THUMBNAIL_SIDE)
            self._scaled = None
        return self._thumbnail

    def thumbnail_from_scaled(self, scaled: np.ndarray | None) -> None:
        """Let ``thumbnail`` start from ``scaled``, the image ``cv2.resize``d with ``INTER_AREA``
        (as the letterbox scales it), when that is exactly the first step ``shrink`` takes here:
        a whole-block average by an integer factor of at least 2 that divides both sides. The
        thumbnail is then bit-identical to ``shrink(self.image, THUMBNAIL_SIDE)`` (what the
        platform's drift reference computes) at a fraction of the cost; otherwise nothing
        changes and ``thumbnail`` shrinks the full image as always."""
        if self._thumbnail is not None or scaled is None or scaled is self.image:
            return
        height, width = self.image.shape[:2]
        factor = max(height, width) // THUMBNAIL_SIDE
        if factor < 2 or height % factor or width % factor:
            return
        if scaled.shape != (height // factor, width // factor, *self.image.shape[2:]):
            return
        self._scaled = scaled

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
