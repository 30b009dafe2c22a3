"""Scenario files (SPEC §15): declarative worlds and assertions, run through the real engine."""
