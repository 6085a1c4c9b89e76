"""Which telemetry columns the drift report compares, and the table it compares them in.

Frame features (brightness, contrast, blur, colour, saturation) describe what a camera sees and
are compared on every row. Detection features (detections per frame, confidences, boxes per
class: the class mix) describe what the champion model made of it, so they are compared only on
rows the champion itself analysed: a canary model's or a model-less camera's detections say
nothing about the champion's reference (their frame features still count).
"""

from __future__ import annotations

import pandas as pd

from maskops_contracts.status import NO_MODEL
from maskops_contracts.telemetry import CLASS_COUNT_COLUMNS

FRAME_FEATURES: tuple[str, ...] = (
    "brightness",
    "contrast",
    "blur",
    "mean_r",
    "mean_g",
    "mean_b",
    "saturation",
)
DETECTION_FEATURES: tuple[str, ...] = (
    "num_detections",
    "mean_confidence",
    "min_confidence",
    *CLASS_COUNT_COLUMNS,
)
DRIFT_FEATURES: tuple[str, ...] = (*FRAME_FEATURES, *DETECTION_FEATURES)
#: Camera id of the reference rows (the training images), a valid id that no camera uses.
REFERENCE_CAMERA = "reference"


def feature_table(rows: pd.DataFrame, champion_model: str | None) -> pd.DataFrame:
    """``camera_id`` plus every drift feature as float; detection features are NaN (not compared)
    on rows another model (or no model) analysed. ``champion_model`` None keeps them on every row."""
    table = pd.DataFrame({"camera_id": rows["camera_id"].astype(str).to_numpy()})
    for column in DRIFT_FEATURES:
        table[column] = pd.to_numeric(rows[column], errors="coerce").astype("float64").to_numpy()
    if len(rows):
        models = rows["model_version"].astype(str).to_numpy()
        foreign = models == NO_MODEL
        if champion_model is not None:
            foreign = foreign | (models != champion_model)
        table.loc[foreign, list(DETECTION_FEATURES)] = float("nan")
    return table


def comparable_features(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(features both tables have values for, features left out): Evidently refuses an empty column."""
    kept, left_out = [], []
    for column in DRIFT_FEATURES:
        usable = reference[column].notna().any() and current[column].notna().any()
        (kept if usable else left_out).append(column)
    return kept, left_out
