"""siyu.synth."""
