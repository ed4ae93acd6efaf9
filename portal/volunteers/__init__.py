"""Volunteers: real-name registration, activities and shifts, signups, hours (issues 4 and 5)."""
