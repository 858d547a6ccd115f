"""The SSM-SAM loss: balanced BCE (paper Eq. 2) + IoU, on 256-pixel logits against the area-averaged label."""
import torch
import torch.nn.functional as F


def label_at(label, size, dtype=torch.float32):
    """The binary label (B, 1, S, S) area-averaged to (B, 1, size, size) (exact block means when S is a
    multiple of size, which the model guarantees: size = 4G = S / 4)."""
    if label.dim() != 4 or label.shape[1] != 1:
        raise ValueError(f"label: expected (B, 1, S, S), got shape {tuple(label.shape)}")
    return F.adaptive_avg_pool2d(label.to(dtype), size)


def balanced_bce(logits, y):
    """(P / (P + Nn)) * mean[-(Nn / P) y log s(x) - (1 - y) log(1 - s(x))], P = sum(y) + 1e-10 and
    Nn = sum(1 - y) over the whole batch; the logs are log-sigmoids (stable for large |x|)."""
    pos = y.sum() + 1e-10
    neg = (1 - y).sum()
    per = -(neg / pos) * y * F.logsigmoid(logits) - (1 - y) * F.logsigmoid(-logits)
    return (pos / (pos + neg)) * per.mean()


def iou_loss(logits, y):
    """Mean over the batch of 1 - sum(p y) / (sum p + sum y - sum(p y) + 1e-6), p = sigmoid(x)."""
    p = torch.sigmoid(logits)
    dims = tuple(range(1, logits.dim()))
    inter = (p * y).sum(dims)
    union = p.sum(dims) + y.sum(dims) - inter
    return (1 - inter / (union + 1e-6)).mean()


def ssmsam_loss(logits256, label):
    """Total = balanced BCE + IoU; returns (total, bce, iou). label: the binary query label (B, 1, S, S)."""
    if logits256.dim() != 4 or logits256.shape[1] != 1 or logits256.shape[-1] != logits256.shape[-2]:
        raise ValueError(f"logits256: expected (B, 1, 4G, 4G), got shape {tuple(logits256.shape)}")
    if label.shape[0] != logits256.shape[0]:
        raise ValueError(f"label batch {label.shape[0]} != logits batch {logits256.shape[0]}")
    y = label_at(label, logits256.shape[-1], logits256.dtype)
    bce, iou = balanced_bce(logits256, y), iou_loss(logits256, y)
    return bce + iou, bce, iou
