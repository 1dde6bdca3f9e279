"""razor_wrn's own warnings print as one line; others as Python prints them."""
import warnings

import mmengine

import razor_wrn
from razor_wrn.datasets.cifar import CIFARChecksumWarning


def test_a_warning_from_the_package_is_one_line():
    inside = razor_wrn.__path__[0] + '/datasets/cifar.py'
    text = warnings.formatwarning('differs', CIFARChecksumWarning, inside, 1)
    assert text == f'{inside}:1: CIFARChecksumWarning: differs\n'


def test_a_warning_from_elsewhere_keeps_its_source_line():
    outside = mmengine.__file__
    text = warnings.formatwarning('x', UserWarning, outside, 1)
    # Python's format: the message line, then the file's line 1.
    assert text.count('\n') == 2 and text.startswith(f'{outside}:1: ')
