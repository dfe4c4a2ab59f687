"""Pure domain model: commands, events decided from state, errors. No I/O."""
