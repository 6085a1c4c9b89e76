"""``python -m edge_agent`` is ``maskops-edge``."""

import sys

from edge_agent.cli import main

sys.exit(main())
