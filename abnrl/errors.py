"""Errors a user can cause: the CLI prints their message as one sentence and exits with 2."""


class UserError(Exception):
    """A mistake in the user's input (path, file, name, value), explained in one sentence."""
