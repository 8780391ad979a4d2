"""Settings and the default world (warehouses, carriers, channels, rules)."""
