"""Speed figures (printed, never asserted)."""
