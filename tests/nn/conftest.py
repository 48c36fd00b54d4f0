import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # nn tests import their parity helper as `nn_helpers`
