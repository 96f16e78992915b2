"""Persistence: eventsourcing recorders extended with the hash chain, transcodings."""
