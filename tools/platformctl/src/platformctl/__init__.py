"""platformctl: one command for operators (run `platformctl --help`)."""
