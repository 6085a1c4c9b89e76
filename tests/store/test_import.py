"""maskops_store stays light: importing it loads no boto3 and nothing of either side."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("boto3", "botocore", "maskops_assets", "edge_agent", "dagster", "torch", "ultralytics")


def test_importing_maskops_store_imports_no_boto3_nor_either_side() -> None:
    code = (
        "import sys, maskops_store\n"
        "from maskops_store import LocalStore, StoreConfig, open_store\n"
        "open_store(StoreConfig(kind='local', root='/tmp/maskops-store-import-check')).describe()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_edge_transport_imports_no_boto3_until_an_s3_store_is_made() -> None:
    code = "import sys, edge_agent.transport\nprint('boto3' in sys.modules, 'botocore' in sys.modules)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False False"
