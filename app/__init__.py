"""KEP 2.0 events service: joint seminars, peer-to-peer events, registration and feeds."""
