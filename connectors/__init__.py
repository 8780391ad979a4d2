"""Every outside system behind one Protocol per kind; see connectors.protocols."""
