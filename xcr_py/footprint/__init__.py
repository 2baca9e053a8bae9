"""Footprint: the Green Software Foundation SCI math with every factor shown."""
