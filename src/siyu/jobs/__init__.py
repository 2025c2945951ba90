"""Jobs: the edge layer that reads inputs, calls the pure core and writes outputs.

Each stage has one module here (`generate`, `validate`, `trainsets`, `training`, `scoring`,
`reporting`). The CLI commands and the quickstart notebook call the same job functions, so
the CLI stays a thin shell and the notebook defines nothing of its own.
"""
