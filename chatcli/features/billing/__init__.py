"""Remaining quota of a relay key, from the billing endpoints relays implement."""
