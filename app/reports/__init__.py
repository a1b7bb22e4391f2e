"""Monitoring reports: coverage, the stocktaking export and the seminars' history."""
