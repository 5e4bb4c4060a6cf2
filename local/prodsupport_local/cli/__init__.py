"""`prodsupport`: the operator's command line (its subcommands, and the entry point in `main`)."""
