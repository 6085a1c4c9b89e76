"""Plain training code (no Dagster imports): ultralytics set-up, training, search, export."""
