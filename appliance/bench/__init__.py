"""Benchmarks: each module registers one `appliance bench` subcommand."""
