"""circnn.train: training with numpy and pyfftw: the forward and backward pass of every
layer kind, and the loop (optimizers, schedules, checkpoints).

    ops      forward and backward of every layer kind (FFT and dense paths)
    trainer  fit, evaluate, predict, optimizers, schedules, checkpoints
"""

from .trainer import (
    CHECKPOINT_FORMAT, Network, softmax_cross_entropy, SGD, Adam, SCHEDULES, schedule_factor, initialise,
    random_shift_flip, save_checkpoint, load_checkpoint, predict, evaluate, fit)

__all__ = ["CHECKPOINT_FORMAT", "Network", "softmax_cross_entropy", "SGD", "Adam", "SCHEDULES",
           "schedule_factor", "initialise", "random_shift_flip", "save_checkpoint", "load_checkpoint",
           "predict", "evaluate", "fit"]
