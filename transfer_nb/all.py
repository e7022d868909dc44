from .core import *
from .transforms import *
from .data import *
from .conv_learner import *
