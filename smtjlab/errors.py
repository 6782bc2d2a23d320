"""The one exception type the command line turns into a single line and exit code 1."""


class SmtjlabError(Exception):
    """A failure the user can act on: bad input, a refused request, an instrument fault."""
