"""siyu.models."""
