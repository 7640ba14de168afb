"""The corps' member organizations."""
