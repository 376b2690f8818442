"""Journalist API v1: SecureDrop's API, so SecureDrop clients work with Skrynka unchanged."""

from journalist_app.api.blueprint import register_api

__all__ = ["register_api"]
