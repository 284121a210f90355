"""The composition root: the only code that knows both `bot/` and `cogs/`.

`assemble` builds settings -> store and clients -> services -> the bot; `client` is the
bot (command tree, start-up, graceful stop); `run` is the process (signals, exit codes);
`cli` is `python -m bot` and its subcommands. Nothing here is imported at package import:
`python -m bot health` must stay quick.
"""
