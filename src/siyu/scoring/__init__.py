"""siyu.scoring."""
