from .core import *
from .transforms import *
from .data import *
from .sample_data import *
from .learner import *
from .conv_learner import *
