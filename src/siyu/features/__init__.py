"""siyu.features."""
