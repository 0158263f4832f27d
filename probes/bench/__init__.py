"""The servebench engine: starts processes, drives load, measures. Never prints."""
