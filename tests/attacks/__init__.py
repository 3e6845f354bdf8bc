"""Attack tests: one module per published attack on group messaging, each saying why it fails here."""
