"""siyu.explain."""
