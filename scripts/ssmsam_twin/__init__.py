"""PyTorch twin of the SSM-SAM heads (see README.md): the parity reference of the Swift model and the
hand-off for GPU training. Parameter names are those of /work/shared-spec/ssmsam-spec.md."""
from .config import SSMSAMConfig, ConfigError
from .highpass import highpass
from .losses import ssmsam_loss, balanced_bce, iou_loss, label_at
from .model import SSMSAM, FrozenFeatures, mask_prior, gaussian_kernel, vit_taps
from .checkpoint import save_pth, load_pth, load_state, check_state, head_state, write_config, read_config, CheckpointError
from .points import sample_points
from .training import inner_step, loss_at
from .meta import multi_step_weights, cosine_lr, meta_gradients, explicit_meta_gradients, outer_step, outer_optimiser

__all__ = ["SSMSAMConfig", "ConfigError", "highpass", "ssmsam_loss", "balanced_bce", "iou_loss", "label_at", "SSMSAM", "FrozenFeatures",
           "mask_prior", "gaussian_kernel", "vit_taps", "save_pth", "load_pth", "load_state", "check_state",
           "head_state", "write_config", "read_config", "CheckpointError", "sample_points", "inner_step", "loss_at",
           "multi_step_weights", "cosine_lr", "meta_gradients", "explicit_meta_gradients", "outer_step", "outer_optimiser"]
