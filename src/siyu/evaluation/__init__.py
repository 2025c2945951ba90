"""siyu.evaluation."""
