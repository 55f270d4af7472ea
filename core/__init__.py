"""What every package shares: runtime settings and the warehouse connection."""
