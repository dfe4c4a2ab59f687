"""Use cases: one handler per command, with its dependencies as parameters."""
