"""Screening attempts (colour vision, artifact discrimination); see docs/evalsite.md."""
