"""End-to-end checks of the active profile, each with how to fix what failed."""
