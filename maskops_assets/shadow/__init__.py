"""Shadow mode on the platform: the ``shadow_report`` of the cameras' shadow comparisons
(docs/shadow.md). Starting and stopping a shadow is a release matter: ``maskops_assets.release.shadow``.
"""
