"""Releases: publish model files, write the manifest (canary first), keep history, roll back."""
