"""The one exception type for problems a user can fix (bad data, bad config, wrong order)."""


class UserError(Exception):
    """Its message is printed as one line, with what to do, instead of a traceback."""
