"""Probes that check whether an endpoint serves the model it claims."""
