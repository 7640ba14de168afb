"""Passwords, tokens, the Actor and role dependencies."""
