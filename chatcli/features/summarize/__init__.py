"""Summaries of text of any length: paragraph-aligned splitting, a rate limiter, map-reduce."""
