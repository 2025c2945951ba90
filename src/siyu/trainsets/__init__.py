"""siyu.trainsets."""
