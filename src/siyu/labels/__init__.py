"""siyu.labels."""
