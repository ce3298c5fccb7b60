"""The `custody` command line: thin wrappers over the library APIs; the only place exit codes live."""
