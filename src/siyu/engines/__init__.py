"""Engines beside the embedded one (DuckDB + compiled passes): each runs the same feature
programs and task definitions and is proven equal to it by parity tests."""
