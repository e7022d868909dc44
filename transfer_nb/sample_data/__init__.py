"Sample datasets drawn on the fly, in the layouts of the course's data: Planet chips, class folders, dogs and cats, dog breeds, CIFAR-10."
from .planet import *
from .scenes import *
from .lesson1 import *
from .cifar import *
