"""The domain model: aggregates that emit past-tense events with SPEC §2 metadata."""
