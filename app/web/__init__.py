"""The public web pages: HTML for people, from the same rows as the API."""
