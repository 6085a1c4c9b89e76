"""Reading what the cameras report: telemetry windows, the drift summary the drift sensor reads."""
