"""Regulatory journal and exports (see issue: regulatory reporting). Empty until that issue lands."""
