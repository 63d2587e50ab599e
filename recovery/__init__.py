"""Per-tenant recovery policies and action handlers (built in the recovery issue)."""
