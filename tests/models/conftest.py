import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # model tests import the PyTorch references as `torchvision_layout`
