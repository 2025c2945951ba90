"""The thin command line: parse flags, build config, call one library function, print a summary."""
