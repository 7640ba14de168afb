"""Collective advocacy: respondent resolution, suggestions, flags and campaigns."""
