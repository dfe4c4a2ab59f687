"""Unit tests of order-service's pure domain (no I/O); builders live in order_unit_builders.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
