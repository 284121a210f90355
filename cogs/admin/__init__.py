"""/admin: a server's switches for /animate (Manage Server), always answered privately.

- `cog`: the command group, who may act on which server, and the calls to `GuildAdmin`.
- `rendering`: pure functions from settings and usage to what the admin reads.
"""

from cogs.admin.cog import Admin

__all__ = ["Admin"]
