"""siyu.tracking."""
