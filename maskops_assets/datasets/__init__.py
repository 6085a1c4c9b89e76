"""Annotation datasets: YOLO, Pascal VOC, COCO and Label Studio read into one model, written back, split.

Modules: ``annotations`` (the in-memory model), one module per format (``yolo``, ``voc``,
``coco``, ``labelstudio``), ``formats`` (the registry by name), ``convert``, ``split``
(content-hash train/val/test), ``validation`` (box checks, skip-or-raise), ``stats`` and
``cli`` (``maskops-datasets``). Plain code: nothing here imports Dagster.
"""
