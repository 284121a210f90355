"""/animate and everything Discord shows of a job.

- `cog`: the command, the context menu, cancelling (❌ and the button), the observer.
- `starter`: the start pipeline, written once for every way a job starts: `checks`
  before the defer, the image from its `sources`, then `publishing` the job.
- `buttons`: one restart-safe button type, driven by a table; custom ids.
- `results`, `continuations`: what the buttons under a video do; `sharing`: Post to
  channel (a private video) and the spoiler.
- `places`: where an interaction comes from and what the bot may do there (its own
  routes, or the command's token alone); `preferences`: /animate-settings.
- `status`: the one public status message, edited with coalescing.
- `delivery`: posting the video (or its link) and telling the author.
- `rendering`, `replies`: pure functions from a job or an outcome to what users read.
"""

from cogs.animate.cog import Animate
from cogs.animate.starter import Starter

__all__ = ["Animate", "Starter"]
