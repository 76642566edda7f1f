"""Validated writes made from the app's forms (one module per screen), each in one transaction."""
