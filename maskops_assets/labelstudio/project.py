"""The maskops project in Label Studio: its labeling config, created or brought up to date."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from maskops_assets.labelstudio.client import LabelStudioClient
from maskops_contracts.classes import CLASS_NAMES

log = logging.getLogger(__name__)

DEFAULT_PROJECT_TITLE = "maskops review"
#: The region and image names in the config; ``maskops_assets.datasets.labelstudio`` writes the same.
FROM_NAME = "label"
TO_NAME = "image"
#: One colour per class, in ``CLASS_NAMES`` order (green: mask, red: none, orange: worn wrong).
CLASS_COLOURS = ("#2ca02c", "#d62728", "#ff7f0e")
_DESCRIPTION = (
    "Frames the cameras were unsure about, most informative first, with the model's boxes drawn. "
    "Fix the boxes and submit; skip a frame that cannot be labelled."
)


def labeling_config(class_names: tuple[str, ...] = CLASS_NAMES) -> str:
    """Rectangles with one label each, for the detector's classes."""
    labels = "\n".join(
        f"    <Label value={quoteattr(name)} background={quoteattr(CLASS_COLOURS[i % len(CLASS_COLOURS)])}/>"
        for i, name in enumerate(class_names)
    )
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image" zoom="true" zoomControl="true"/>\n'
        f'  <RectangleLabels name="{FROM_NAME}" toName="{TO_NAME}" strokeWidth="2">\n'
        f"{labels}\n"
        "  </RectangleLabels>\n"
        "</View>"
    )


@dataclass(frozen=True)
class ProjectRef:
    """The project maskops works in: its id, title and where to open it."""

    project_id: int
    title: str
    url: str
    created: bool = False


def ensure_project(
    client: LabelStudioClient, title: str, *, local_files_path: str | None = None
) -> ProjectRef:
    """The project titled ``title``, created when missing and its labeling config kept current.

    ``local_files_path``: a folder under the server's ``LOCAL_FILES_DOCUMENT_ROOT`` whose files the
    tasks show (a local store); it is registered once as the project's local storage.
    """
    config = labeling_config()
    project = client.find_project(title)
    created = project is None
    if project is None:
        project = client.create_project(title, config, _DESCRIPTION)
        log.info("created Label Studio project %r (id %s) at %s", title, project["id"], client.url)
    elif _normalise(project.get("label_config", "")) != _normalise(config):
        client.update_project(int(project["id"]), label_config=config)
        log.info("updated the labeling config of project %r (id %s)", title, project["id"])
    project_id = int(project["id"])
    if local_files_path:
        paths = {s.get("path", "").rstrip("/") for s in client.local_storages(project_id)}
        if local_files_path.rstrip("/") not in paths:
            client.add_local_storage(project_id, local_files_path, "maskops samples")
    return ProjectRef(project_id, title, f"{client.url}/projects/{project_id}/data", created)


def _normalise(xml: str) -> str:
    return "".join(xml.split())
