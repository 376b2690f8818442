"""Helpers for the end-to-end story: a source's browser, the evidence officer's terminal."""
