"""The tools' argument parser: a mistyped option in one ERROR line.

argparse answers an unknown or malformed option with its usage text (6 or
more lines) and the problem last; :class:`ToolParser` prints one line that
names the problem, the option probably meant, and ``--help``, and exits
with argparse's status 2.
"""
import argparse
import difflib
import sys
from typing import List, NoReturn

UNRECOGNIZED = 'unrecognized arguments: '


class ToolParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line on stderr."""

    def error(self, message: str) -> NoReturn:
        """Print ``ERROR: <message>`` with a suggestion, then exit 2."""
        hint = ''
        if message.startswith(UNRECOGNIZED):
            meant = self._closest(message[len(UNRECOGNIZED):].split())
            if meant:
                hint = f' (did you mean {", ".join(meant)}?)'
        sys.stderr.write(f'ERROR: {self.prog}: {message}{hint}. Run '
                         f'{self.prog} --help for the options.\n')
        sys.exit(2)

    def _closest(self, given: List[str]) -> List[str]:
        """The known option closest to each unknown one that has one."""
        known = [option for option in self._option_string_actions
                 if option.startswith('--')]
        meant = []
        for word in given:
            if word.startswith('-'):
                match = difflib.get_close_matches(word.split('=')[0], known,
                                                  n=1, cutoff=0.6)
                meant += match
        return meant
