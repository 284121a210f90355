"""What every cog shares: the catalog translator, the press ledger, a job's words."""
