"""Volunteer activities, their shifts and signups (issue 4)."""
