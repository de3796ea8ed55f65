"""Encrypted call store on SQLite."""
