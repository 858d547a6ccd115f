"""The explicit-visual-prompt high-pass filter (SAM-Adapter's `fft` with rate 0.25), per the spec."""
import math
import torch


def highpass(image, rate=0.25):
    """abs(real(ifft2(ifftshift(F)))) with F = fftshift(fft2(image, norm="forward")) and the centred
    low-frequency square F[H/2-l : H/2+l, W/2-l : W/2+l] zeroed, l = int(sqrt(H*W*rate) // 2).

    image: (B, 3, H, W) float32 (SAM-preprocessed). Returns the same shape and dtype, without gradient:
    the filter has no parameters and its input is data, so the spec computes it once per image.
    The shifts act on the two spatial axes only. (SAM-Adapter calls fftshift with no `dim`, which also
    rolls the batch and channel axes; the inverse shift undoes that and its mask is the same on every
    plane, so the result is the same plane by plane.) Rows use H // 2 and columns W // 2; SAM-Adapter
    swaps the two, which is the same on the square frames SAM uses.
    """
    if image.dim() != 4:
        raise ValueError(f"highpass: expected (B, C, H, W), got shape {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"highpass: expected a float tensor, got {image.dtype}")
    h, w = image.shape[-2:]
    line = int(math.sqrt(h * w * rate) // 2)
    with torch.no_grad():
        f = torch.fft.fftshift(torch.fft.fft2(image, norm="forward"), dim=(-2, -1))
        f[..., max(h // 2 - line, 0):h // 2 + line, max(w // 2 - line, 0):w // 2 + line] = 0
        out = torch.fft.ifft2(torch.fft.ifftshift(f, dim=(-2, -1)), norm="forward").real.abs()
    return out.to(image.dtype)
