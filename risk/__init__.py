"""Pre-trade risk checks (see issue: pre-trade risk). Empty until that issue lands."""
