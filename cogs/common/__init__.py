"""What every cog shares: the contracts they are built with, the translator, the press
ledger, a job's words. Cogs import each other never; they import this."""
