"""Reviewed labels: annotation batches imported from files or pulled from Label Studio, checked, and
kept in the object store."""

from maskops_assets.labels.reviewed import (
    LABELS_PREFIX,
    LabelBatch,
    LabelBatchRejected,
    LabelEntry,
    download_reviewed,
    import_label_batch,
    latest_labels,
    list_label_batches,
    read_label_batch,
    store_label_batch,
    summarise,
)

__all__ = [
    "LABELS_PREFIX",
    "LabelBatch",
    "LabelBatchRejected",
    "LabelEntry",
    "download_reviewed",
    "import_label_batch",
    "latest_labels",
    "list_label_batches",
    "read_label_batch",
    "store_label_batch",
    "summarise",
]
