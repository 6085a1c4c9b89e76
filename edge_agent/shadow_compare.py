"""Compare two models' boxes on one frame: the camera's model (the champion) and a shadow model.

Boxes are matched greedily by confidence: the champion's boxes, the most confident first, each
take the unmatched shadow box they overlap most, when that IoU is at least ``iou_threshold``
(0.5). Classes do not take part in matching, so a box both models found but
named differently counts as a matched pair with a class disagreement, not as two lone boxes.
Plain numpy; no state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edge_agent.detector.decode import iou_matrix
from maskops_contracts import CLASS_NAMES, Detection

#: Boxes overlapping at least this much (intersection over union) are the same object.
MATCH_IOU = 0.5


@dataclass(frozen=True)
class FrameComparison:
    """What the two models agree on in one frame (see ``maskops_contracts.telemetry.ShadowRow``)."""

    champion_boxes: int
    shadow_boxes: int
    #: (champion index, shadow index) of each matched pair
    pairs: tuple[tuple[int, int], ...]
    class_agreed: int
    #: shadow minus champion confidence, averaged over matched pairs (0 without one)
    mean_confidence_delta: float
    #: per class the champion gave: matched boxes the shadow gave another class
    class_mismatches: dict[str, int] = field(default_factory=dict)

    @property
    def matched(self) -> int:
        return len(self.pairs)

    @property
    def champion_only(self) -> int:
        return self.champion_boxes - self.matched

    @property
    def shadow_only(self) -> int:
        return self.shadow_boxes - self.matched

    @property
    def disagreement(self) -> float:
        """Boxes the models do not agree on (lone, or matched with another class), over every box
        either found: 0 when they agree on every box (or both found none), 1 when on none."""
        union = self.matched + self.champion_only + self.shadow_only
        return 0.0 if union == 0 else 1.0 - self.class_agreed / union


def _boxes(detections: Sequence[Detection]) -> np.ndarray:
    return np.asarray([d.box for d in detections], dtype=np.float64).reshape(-1, 4)


def match_boxes(
    champion: Sequence[Detection], shadow: Sequence[Detection], iou_threshold: float = MATCH_IOU
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching: the champion's boxes, most confident first, each take the
    still unmatched shadow box they overlap most, if at IoU >= ``iou_threshold``. Returns
    (champion index, shadow index) pairs, by champion index."""
    iou = iou_matrix(_boxes(champion), _boxes(shadow))
    free = np.ones(len(shadow), dtype=bool)
    pairs: list[tuple[int, int]] = []
    for c in sorted(range(len(champion)), key=lambda i: -champion[i].confidence):
        if not free.any():
            break
        overlap = np.where(free, iou[c], -1.0)
        best = int(np.argmax(overlap))
        if overlap[best] >= iou_threshold:
            free[best] = False
            pairs.append((c, best))
    return sorted(pairs)


def compare_detections(
    champion: Sequence[Detection], shadow: Sequence[Detection], iou_threshold: float = MATCH_IOU
) -> FrameComparison:
    """The comparison of the shadow's boxes with the champion's on one frame."""
    pairs = match_boxes(champion, shadow, iou_threshold)
    mismatches = dict.fromkeys(CLASS_NAMES, 0)
    agreed = 0
    deltas: list[float] = []
    for c, s in pairs:
        deltas.append(shadow[s].confidence - champion[c].confidence)
        if champion[c].class_name == shadow[s].class_name:
            agreed += 1
        else:
            mismatches[champion[c].class_name] += 1
    return FrameComparison(
        champion_boxes=len(champion),
        shadow_boxes=len(shadow),
        pairs=tuple(pairs),
        class_agreed=agreed,
        mean_confidence_delta=float(np.mean(deltas)) if deltas else 0.0,
        class_mismatches=mismatches,
    )
