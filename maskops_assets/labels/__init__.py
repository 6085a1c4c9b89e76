"""Reviewed labels: annotation batches imported from files, checked, and kept in the object store."""

from maskops_assets.labels.reviewed import (
    LABELS_PREFIX,
    LabelBatch,
    LabelBatchRejected,
    download_reviewed,
    import_label_batch,
    list_label_batches,
    read_label_batch,
    summarise,
)

__all__ = [
    "LABELS_PREFIX",
    "LabelBatch",
    "LabelBatchRejected",
    "download_reviewed",
    "import_label_batch",
    "list_label_batches",
    "read_label_batch",
    "summarise",
]
