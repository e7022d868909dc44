"Everything for `from transfer_nb.all import *`: the library's public names, and the everyday names a lesson cell uses."
# The library, in notebook order
from .core import *
from .distributed import *
from .augment import *
from .transforms import *
from .images import *
from .labels import *
from .datasets import *
from .data import *
from .sample_data import *
from .callback.core import *
from .callback.schedule import *
from .metrics import *
from .callback.training import *
from .callback.progress import *
from .callback.distributed import *
from .callback.checkpoints import *
from .learner import *
from .lr_finder import *
from .sgdr import *
from .models import *
from .cifar_models import *
from .precompute import *
from .conv_learner import *
from .progressive import *
from .interpret import *
from .export import *
from .planet import *

# fastai 0.7's `from fastai.conv_learner import *` also brought the notebook's everyday tools into scope (its
# `imports.py` and `torch_imports.py`); the lessons' cells use them without importing them, so we provide them too.
import os, sys, re, math, json, time, random, shutil, pickle, copy, collections, itertools, warnings
from glob import glob, iglob
from pathlib import Path
from functools import partial
from collections import Counter, OrderedDict
import numpy as np, pandas as pd, scipy
import PIL
from PIL import Image, ImageEnhance, ImageOps
import matplotlib
from matplotlib import pyplot as plt
import torch, torchvision
from torch import nn, optim
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader, TensorDataset
from torch.autograd import Variable   # lesson 7 wraps tensors in `Variable(x)` (today a tensor is one)
from torch.nn import Flatten          # fastai 0.7's `Flatten()` layer: `x.view(len(x), -1)`
from sklearn import metrics
from IPython.display import FileLink, display
from ipywidgets import interact, interactive, fixed, widgets
