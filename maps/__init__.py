"""Endpoints over cases: vector tiles, OGC API - Features, hotspots, reference layers, exports."""
