"""Stored conversations shown, exported, renamed and removed."""
