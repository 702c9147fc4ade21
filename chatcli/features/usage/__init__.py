"""The usage log read back (reports) and the daily/monthly budgets checked before a request."""
