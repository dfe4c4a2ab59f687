"""The pages, one blueprint per part: ``auth`` (signing in and out), ``customer`` (a customer's own pages)."""
