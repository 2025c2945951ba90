"""The only package (with tracking/ and cli/) that opens files and database connections."""
