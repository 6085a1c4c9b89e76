"""Human review in Label Studio: uncertain frames in as tasks with the model's boxes, reviews out.

- ``client``: a small REST client (personal access or legacy token), failures as named errors.
- ``project``: the maskops project and its labeling config (rectangles, the detector's classes).
- ``images``: how a task points at its frame (local file serving, or presigned S3 URLs).
- ``tasks``: sample records as tasks with predictions, pushed idempotently by sample id.
- ``queue``: which ingest batches still have to go to Label Studio.
- ``pull``: completed reviews out, incrementally, as a label batch (``maskops_assets.labels``).
- ``corrections``: what reviewers changed in the model's boxes, per class and model version.
"""

from maskops_assets.labelstudio.client import (
    LEGACY_TOKEN,
    PERSONAL_ACCESS_TOKEN,
    LabelStudioClient,
    token_kind,
)
from maskops_assets.labelstudio.corrections import KINDS, by_model_version, compare, plot_corrections
from maskops_assets.labelstudio.errors import (
    LabelStudioAuthError,
    LabelStudioError,
    LabelStudioHTTPError,
    LabelStudioProjectMissing,
    LabelStudioUnreachable,
)
from maskops_assets.labelstudio.images import ImageLinker, presigned_url
from maskops_assets.labelstudio.project import (
    DEFAULT_PROJECT_TITLE,
    ProjectRef,
    ensure_project,
    labeling_config,
)
from maskops_assets.labelstudio.pull import PullReport, pull_reviewed
from maskops_assets.labelstudio.queue import QueueReport, queue_new_batches
from maskops_assets.labelstudio.tasks import PushReport, ReviewSample, build_task, push_samples

__all__ = [
    "DEFAULT_PROJECT_TITLE",
    "KINDS",
    "LEGACY_TOKEN",
    "PERSONAL_ACCESS_TOKEN",
    "ImageLinker",
    "LabelStudioAuthError",
    "LabelStudioClient",
    "LabelStudioError",
    "LabelStudioHTTPError",
    "LabelStudioProjectMissing",
    "LabelStudioUnreachable",
    "ProjectRef",
    "PullReport",
    "PushReport",
    "QueueReport",
    "ReviewSample",
    "build_task",
    "by_model_version",
    "compare",
    "ensure_project",
    "labeling_config",
    "plot_corrections",
    "presigned_url",
    "pull_reviewed",
    "push_samples",
    "queue_new_batches",
    "token_kind",
]
