"""Patch operations of the training-free single-image generators: GPNN (Granot, Feinstein, Shocher,
Bagon & Irani, "Drop the GAN: In Defense of Patches Nearest Neighbors as Single Image Generative
Models", CVPR 2022) and GPDM (Elnekave & Weiss, "Generating Natural Images with Direct Patch
Distributions Matching", ECCV 2022), and of the applications built on them.

- :func:`nearest_patches`: for every ``p x p`` patch of a batch of query images, the index of its
  nearest key patch by squared distance per pixel, optionally GPNN's normalised distance
  ``d(q, k) / (alpha + min_q' d(q', k))`` that favours keys no query uses yet (completeness).
  Distances come from matrix products over bands of query rows, so at most ``chunk_bytes`` of
  distances exist at once whatever the image size, and the same code runs on CPU and GPU.
- :func:`vote_patches`: the image whose every pixel is the mean of the value patches that cover it
  (gathered straight from the value image, one patch offset at a time: no ``[L, 3 p p]`` tensor).
- :func:`sliced_wasserstein_loss`: GPDM's loss between the patch distributions of two images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# At most this many bytes of float32 distances exist at once (a band of query patches x all keys).
NN_CHUNK_BYTES = 32 * 2**20


def unfold_patches(image: Tensor, patch_size: int) -> Tensor:
    """Patches ``[L, C * p * p]`` of one image ``[1, C, H, W]`` (every position, stride 1)."""
    return F.unfold(image, patch_size)[0].t().contiguous()


def _bands(positions_h: int, positions_w: int, num_keys: int, chunk_bytes: int) -> tuple[range, int]:
    """``(first patch row of each band, rows a band)`` for bands whose distances to ``num_keys`` keys fit in ``chunk_bytes``."""
    rows = max(1, chunk_bytes // (4 * num_keys * positions_w))
    return range(0, positions_h, rows), rows


def _band_distances(image: Tensor, first: int, rows: int, patch_size: int, keys: Tensor,
                    key_norms: Tensor) -> Tensor:
    """Squared distances per pixel ``[n, K]`` of the patches in patch rows ``first .. first+rows-1``
    of ``image`` ``[1, C, H, W]`` to ``keys`` ``[K, D]``."""
    band = image[:, :, first:first + rows + patch_size - 1]
    queries = unfold_patches(band, patch_size)  # [n, D]
    dist = torch.addmm(key_norms.unsqueeze(0), queries, keys.t(), alpha=-2.0)
    dist.add_(queries.square().sum(1, keepdim=True))
    return dist.clamp_(min=0.0).div_(keys.shape[1])


def nearest_patches(queries: Tensor, keys: Tensor, patch_size: int, alpha: float | None = None,
                    chunk_bytes: int = NN_CHUNK_BYTES) -> Tensor:
    """Index ``[B, Lh, Lw]`` (into ``keys``) of the nearest key of every patch of ``queries``.

    ``queries``: images ``[B, C, H, W]``; ``keys``: patches ``[K, C * p * p]`` (of the source image,
    see :func:`unfold_patches`, possibly a subset); ``alpha``: None for the plain nearest neighbour,
    else GPNN's normalised distance with completeness ``alpha`` (computed per image of the batch).
    """
    batch, _, height, width = queries.shape
    positions_h, positions_w = height - patch_size + 1, width - patch_size + 1
    if positions_h < 1 or positions_w < 1:
        raise ValueError(f"images of {height}x{width} px are smaller than the {patch_size} px patches")
    key_norms = keys.square().sum(1)
    starts, rows = _bands(positions_h, positions_w, keys.shape[0], chunk_bytes)
    found = torch.empty((batch, positions_h * positions_w), dtype=torch.long, device=queries.device)
    for b in range(batch):
        image = queries[b:b + 1]
        weight = None
        if alpha is not None:
            best = torch.full_like(key_norms, float("inf"))  # [K] distance of each key to its nearest query
            for first in starts:
                best = torch.minimum(best, _band_distances(image, first, rows, patch_size, keys, key_norms).amin(0))
            weight = 1.0 / (best + alpha)
        for first in starts:
            dist = _band_distances(image, first, rows, patch_size, keys, key_norms)
            if weight is not None:
                dist.mul_(weight)
            stop = min(first + rows, positions_h)
            found[b, first * positions_w:stop * positions_w] = dist.argmin(1)
    return found.view(batch, positions_h, positions_w)


def vote_patches(values: Tensor, index: Tensor, patch_size: int, key_width: int) -> Tensor:
    """Images ``[B, C, Lh + p - 1, Lw + p - 1]``: each pixel the mean over the patches covering it of
    the value patch chosen there. ``index`` ``[B, Lh, Lw]`` numbers patch positions of ``values``
    ``[1, C, h, w]`` row by row with ``key_width`` positions a row (``w - p + 1``)."""
    batch, positions_h, positions_w = index.shape
    channels = values.shape[1]
    top, left = index // key_width, index % key_width  # [B, Lh, Lw] corner of each chosen patch
    flat = values[0].reshape(channels, -1)  # [C, h * w]
    value_width = values.shape[-1]
    height, width = positions_h + patch_size - 1, positions_w + patch_size - 1
    total = values.new_zeros((batch, channels, height, width))
    count = values.new_zeros((1, 1, height, width))
    for dy in range(patch_size):
        for dx in range(patch_size):
            pixel = ((top + dy) * value_width + left + dx).view(batch, -1)  # [B, Lh * Lw]
            taken = flat[:, pixel].permute(1, 0, 2).reshape(batch, channels, positions_h, positions_w)
            total[:, :, dy:dy + positions_h, dx:dx + positions_w] += taken
            count[:, :, dy:dy + positions_h, dx:dx + positions_w] += 1.0
    return total / count


def nearest_positions(queries: Tensor, keys_image: Tensor, patch_size: int, alpha: float | None,
                      key_valid: Tensor | None = None, chunk_bytes: int = NN_CHUNK_BYTES) -> Tensor:
    """Exact search: the position number ``[B, Lh, Lw]`` (row by row on ``keys_image``'s patch grid)
    of the nearest ``keys_image`` ``[1, C, h, w]`` patch of every patch of ``queries`` ``[B, C, H, W]``;
    ``key_valid``: bool ``[(h - p + 1) * (w - p + 1)]``, the key positions allowed."""
    keys = unfold_patches(keys_image, patch_size)
    positions = torch.arange(keys.shape[0], device=keys.device)
    if key_valid is not None:
        keys, positions = keys[key_valid], positions[key_valid]
        if keys.shape[0] == 0:
            raise ValueError("no valid key patch")
    return positions[nearest_patches(queries, keys, patch_size, alpha, chunk_bytes)]


def replace_patches(queries: Tensor, keys_image: Tensor, values_image: Tensor, patch_size: int,
                    alpha: float | None, key_valid: Tensor | None = None,
                    chunk_bytes: int = NN_CHUNK_BYTES) -> Tensor:
    """One GPNN step with exact search: every patch of ``queries`` ``[B, C, H, W]`` replaced by the
    ``values_image`` patch at the position of its nearest ``keys_image`` patch (both ``[1, C, h, w]``),
    overlaps averaged."""
    index = nearest_positions(queries, keys_image, patch_size, alpha, key_valid, chunk_bytes)
    return vote_patches(values_image, index, patch_size, keys_image.shape[-1] - patch_size + 1)


def untouched_positions(hole: Tensor, patch_size: int) -> Tensor:
    """bool ``[(h - p + 1) * (w - p + 1)]``: the patch positions of an ``[1, 1, h, w]`` hole mask (> 0.5
    inside) whose patch has no pixel in the hole."""
    touched = F.max_pool2d((hole > 0.5).float(), patch_size, stride=1)
    return touched.flatten() < 0.5


def projected_patches(images: Tensor, projections: Tensor, groups: int) -> Tensor:
    """Projections ``[B, P, L]`` of every patch of ``images`` ``[B, C, H, W]`` on ``projections``
    ``[B * P, C, p, p]`` (image b on its own P directions): one grouped convolution."""
    batch, channels, height, width = images.shape
    out = F.conv2d(images.reshape(1, batch * channels, height, width), projections, groups=groups)
    return out.view(batch, projections.shape[0] // batch, -1)


def sliced_wasserstein_loss(output: Tensor, target_sorted: Tensor, projections: Tensor) -> Tensor:
    """GPDM's loss: mean squared difference between the sorted projections of ``output``'s patches
    ``[B, C, H, W]`` and ``target_sorted`` ``[B, P, K]`` (the target's, sorted); when the patch counts
    differ (retargeting) the target's quantiles are read at the output's by linear interpolation."""
    batch = output.shape[0]
    mine = projected_patches(output, projections, batch).sort(dim=2).values  # [B, P, L]
    count, target_count = mine.shape[2], target_sorted.shape[2]
    if count != target_count:
        target_sorted = F.interpolate(target_sorted, size=count, mode="linear", align_corners=True)
    return (mine - target_sorted).square().mean(dim=(1, 2)).sum()




# ---------------------------------------------------------------------- approximate search (PatchMatch)
class PatchCodes:
    """Patches as their coordinates on the ``dims`` main axes (PCA) of a key image's patches: the
    distances PatchMatch compares cost ``dims`` instead of ``C p p`` numbers each."""

    def __init__(self, keys_image: Tensor, patch_size: int, dims: int) -> None:
        rows = unfold_patches(keys_image, patch_size)  # [K, D]
        self.mean = rows.mean(0)
        centred = rows - self.mean
        _, vectors = torch.linalg.eigh(centred.t() @ centred)  # ascending eigenvalues
        self.basis = vectors[:, -min(dims, rows.shape[1]):].contiguous()  # [D, d]
        self.keys = centred @ self.basis  # [K, d]
        self.patch_size = patch_size

    def of(self, images: Tensor) -> Tensor:
        """Codes ``[B, Lh, Lw, d]`` of every patch of ``images`` ``[B, C, H, W]`` (one convolution)."""
        channels, size = images.shape[1], self.patch_size
        weight = self.basis.t().reshape(-1, channels, size, size)
        codes = F.conv2d(images, weight) - (self.mean @ self.basis).view(1, -1, 1, 1)
        return codes.permute(0, 2, 3, 1).contiguous()


def candidate_distances(query_codes: Tensor, key_codes: Tensor, candidates: Tensor,
                        band_queries: int = 65536) -> Tensor:
    """Squared distances ``[N, B, Lh, Lw]`` between the codes of every query ``[B, Lh, Lw, d]`` and
    of its ``N`` candidate keys ``candidates`` ``[N, B, Lh, Lw]`` (rows of ``key_codes`` ``[K, d]``),
    over bands of at most ``band_queries`` queries (memory: ``N x band_queries x d`` floats)."""
    count, batch, positions_h, positions_w = candidates.shape
    dims = key_codes.shape[1]
    out = query_codes.new_empty((count, batch, positions_h, positions_w))
    rows = max(1, band_queries // positions_w)
    for b in range(batch):
        for first in range(0, positions_h, rows):
            stop = min(first + rows, positions_h)
            chosen = key_codes.index_select(0, candidates[:, b, first:stop].reshape(-1)).view(count, -1, dims)
            band = query_codes[b, first:stop].reshape(1, -1, dims)
            out[:, b, first:stop] = (chosen - band).square_().sum(2).view(count, stop - first, positions_w)
    return out


def _shifted(field: Tensor, dy: int, dx: int) -> Tensor:
    """``field`` ``[B, Lh, Lw]`` read at ``(y + dy, x + dx)`` (edges repeated)."""
    positions_h, positions_w = field.shape[1:]
    rows = (torch.arange(positions_h, device=field.device) + dy).clamp(0, positions_h - 1)
    cols = (torch.arange(positions_w, device=field.device) + dx).clamp(0, positions_w - 1)
    return field[:, rows][:, :, cols]


def patchmatch(queries: Tensor, codes: PatchCodes, key_grid: tuple[int, int], field: Tensor, alpha: float | None,
               key_valid: Tensor | None, generator: torch.Generator, rounds: int = 1,
               radii: tuple[int, ...] = (8, 4, 2, 1)) -> Tensor:
    """Improve ``field`` ``[B, Lh, Lw]`` (key position numbers, row by row on the ``key_grid``)
    towards the nearest keys of ``codes`` (Barnes et al., PatchMatch, SIGGRAPH 2009): each round
    tries, for every query, its current key, its 4 neighbours' keys shifted back by one pixel
    (propagation) and random keys within ``radii`` of its current one and one anywhere (random search, the offsets
    drawn once for the whole batch from ``generator``, so a sample does not depend on its batch).
    With ``alpha`` the choice minimises GPNN's normalised distance, each key's nearest query taken
    among the pairs tried in the round; ``key_valid`` (bool ``[h' * w']``) excludes keys. Distances
    are those of the codes, per code dimension."""
    key_h, key_w = key_grid
    batch, positions_h, positions_w = field.shape
    query_codes = codes.of(queries)
    for _ in range(rounds):
        top, left = field // key_w, field % key_w
        tops, lefts = [top], [left]
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            tops.append(_shifted(top, dy, dx) - dy)
            lefts.append(_shifted(left, dy, dx) - dx)
        for radius in (max(key_h, key_w), *radii):  # the first: anywhere in the key image
            jump = torch.randint(-radius, radius + 1, (2, 1, positions_h, positions_w), generator=generator)
            tops.append(top + jump[0].to(top.device))
            lefts.append(left + jump[1].to(left.device))
        tops = torch.stack(tops).clamp_(0, key_h - 1)  # [N, B, Lh, Lw]
        lefts = torch.stack(lefts).clamp_(0, key_w - 1)
        keys = tops * key_w + lefts
        dist = candidate_distances(query_codes, codes.keys, keys).div_(codes.keys.shape[1])
        if key_valid is not None:
            dist = dist.masked_fill(~key_valid[keys], float("inf"))
        score = dist
        if alpha is not None:
            flat_keys = keys.permute(1, 0, 2, 3).reshape(batch, -1)
            nearest = torch.full((batch, key_h * key_w), float("inf"), device=dist.device).scatter_reduce(
                1, flat_keys, dist.permute(1, 0, 2, 3).reshape(batch, -1), reduce="amin")
            score = dist / (alpha + nearest.gather(1, flat_keys).view(batch, -1, positions_h, positions_w)
                            .permute(1, 0, 2, 3))
        field = keys.gather(0, score.argmin(0, keepdim=True))[0]
    return field


def upsample_field(field: Tensor, key_shape: tuple[int, int], old_key_shape: tuple[int, int],
                   positions: tuple[int, int]) -> Tensor:
    """A coarser level's ``field`` ``[B, lh, lw]`` (key numbers on a ``old_key_shape`` grid) as a
    first guess at ``positions`` ``(Lh, Lw)`` on a ``key_shape`` grid: each query takes the key of
    the coarser query at its place, moved by its offset from that query, both scaled to the new grids."""
    batch, old_h, old_w = field.shape

    def axis(length: int, old_length: int, key_length: int, old_key_length: int, old_keys: Tensor, along: int):
        place = torch.arange(length, device=field.device, dtype=torch.float64) * old_length / length
        coarse = place.floor().long().clamp(max=old_length - 1)
        picked = old_keys.index_select(along, coarse).double()
        offset = (place - coarse).view((1, -1, 1) if along == 1 else (1, 1, -1))
        return ((picked + offset) * key_length / old_key_length).round().long().clamp(0, key_length - 1)

    rows = torch.arange(positions[0], device=field.device) * old_h // positions[0]
    cols = torch.arange(positions[1], device=field.device) * old_w // positions[1]
    top = axis(positions[0], old_h, key_shape[0], old_key_shape[0], (field // old_key_shape[1])[:, :, cols], 1)
    left = axis(positions[1], old_w, key_shape[1], old_key_shape[1], (field % old_key_shape[1])[:, rows], 2)
    return top * key_shape[1] + left

__all__ = ["NN_CHUNK_BYTES", "nearest_patches", "nearest_positions", "candidate_distances", "PatchCodes", "patchmatch", "projected_patches", "replace_patches",
           "sliced_wasserstein_loss", "unfold_patches", "untouched_positions", "upsample_field", "vote_patches"]
