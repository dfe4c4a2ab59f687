"""Read models: the representations the API returns, built from projection rows (and pure domain rules such as a
subscription's state or its occurrences, computed at read time from "now")."""
