"""Baselines (YAML rules), the rule JSON Schema and the lifecycle catalogue: data, read with
importlib.resources."""
