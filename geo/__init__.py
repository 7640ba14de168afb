"""Spatial building blocks and map endpoints."""
