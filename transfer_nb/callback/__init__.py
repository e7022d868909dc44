"The training loop's callbacks, by family: the base class and events (`core`), the learning-rate schedules (`schedule`), device, precision and safety (`training`), the recorder and progress (`progress`), snapshots (`checkpoints`) and several processes (`distributed`)."
from .core import *
