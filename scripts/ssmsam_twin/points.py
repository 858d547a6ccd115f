"""A point picker from the SUPPORT mask, for training with the twin.

Not part of the parity contract: the spec makes points an input of the forward and leaves the picker to
each side, so the fixtures store their points. This one follows ssm-sam.md: positives inside the mask,
negatives outside it, drawn from a band around the boundary when the band has enough pixels (errors
happen there), without replacement where possible; coordinates are pixel centres (c + 0.5, r + 0.5).
"""
import torch
import torch.nn.functional as F


def _draw(candidates, n, generator):
    """n rows of candidates (K, 2) (row, col), without replacement when K >= n."""
    k = candidates.shape[0]
    if n == 0 or k == 0:
        return candidates[:0] if k else torch.zeros(0, 2, dtype=torch.long)
    if k >= n:
        idx = torch.randperm(k, generator=generator)[:n]
    else:
        idx = torch.randint(k, (n,), generator=generator)
    return candidates[idx]


def sample_points(mask, positives=8, negatives=8, band=None, generator=None):
    """mask: (S, S) binary support mask in the frame. Returns points (P, 2) float32 (x, y) and labels (P,)
    int64, positives first. band: the negatives' band width in pixels around the mask (default S / 16,
    one feature cell); when the band has fewer than `negatives` pixels, any pixel outside the mask is used."""
    if mask.dim() != 2:
        raise ValueError(f"sample_points: expected an (S, S) mask, got {tuple(mask.shape)}")
    inside = mask > 0.5
    if positives and not inside.any():
        raise ValueError("sample_points: the support mask is empty, no positive point can be drawn")
    band = band if band is not None else max(1, mask.shape[0] // 16)
    near = F.max_pool2d(inside.float()[None, None], 2 * band + 1, stride=1, padding=band)[0, 0] > 0
    ring = torch.nonzero(near & ~inside)
    outside = torch.nonzero(~inside)
    if negatives and outside.shape[0] == 0:
        raise ValueError("sample_points: the support mask covers the frame, no negative point can be drawn")
    pos = _draw(torch.nonzero(inside), positives, generator)
    neg = _draw(ring if ring.shape[0] >= negatives else outside, negatives, generator)
    rc = torch.cat([pos, neg]).float()
    points = torch.stack([rc[:, 1] + 0.5, rc[:, 0] + 0.5], dim=1)
    labels = torch.cat([torch.ones(pos.shape[0], dtype=torch.long), torch.zeros(neg.shape[0], dtype=torch.long)])
    return points, labels
