"""Tests both services run, written once (imported into each service's own test modules)."""
