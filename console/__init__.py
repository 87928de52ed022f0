"""The owner's console: the second edge of the bot, over HTTP (pages that call the same flows as handlers/)."""
