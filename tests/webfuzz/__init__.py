"""Fuzzing the JSON API (schemathesis, Hypothesis), the scale-out test on PostgreSQL."""
