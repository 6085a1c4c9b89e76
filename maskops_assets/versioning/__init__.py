"""Versions of the labeled dataset: a git repository whose data lives in DVC, with a DVC remote."""

from maskops_assets.versioning.dvc_repo import DatasetRepo, DatasetRepoError, DatasetVersion

__all__ = ["DatasetRepo", "DatasetRepoError", "DatasetVersion"]
