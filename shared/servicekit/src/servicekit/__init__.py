"""Shared service runtime (not the published language: that is shared_events)."""
