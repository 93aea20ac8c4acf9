"""The one exception type that gankit raises for bad input."""


class GankitError(ValueError):
    """Bad input: a value, file or spec that gankit cannot use.

    The message names the parameter, the value and what was expected, in one line.
    The command line turns it into ``gankit: error: <message>`` and exit code 2.
    """
