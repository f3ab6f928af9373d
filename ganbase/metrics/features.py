"""Distances between two sets of feature vectors ``[N, D]``, for FID / SIFID / KID and the zoo's
precision / recall. Seeded and offline; float64 where precision matters.

- :func:`frechet_distance`: the Frechet distance of two Gaussians fitted to features (Heusel et al.
  2017, FID); :func:`feature_statistics` fits them.
- :func:`kernel_distance`: the unbiased polynomial-kernel MMD^2 (Binkowski et al. 2018, KID).
- :func:`precision_recall`: improved precision and recall with k-NN hyperspheres (Kynkaanniemi et
  al. 2019).

The Inception features themselves live in :mod:`ganbase.metrics.inception`; image metrics in
:mod:`ganbase.metrics.image_metrics`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ganbase.errors import UserError


def feature_statistics(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``N - 1`` normalisation, as numpy's ``cov``) of features ``[N, D]``."""
    array = np.asarray(features.detach().cpu() if isinstance(features, Tensor) else features, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2:
        raise UserError(f"need at least 2 feature vectors [N, D], got shape {array.shape}")
    return array.mean(0), np.cov(array, rowvar=False).reshape(array.shape[1], array.shape[1])


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Frechet distance of N(mean_a, cov_a) and N(mean_b, cov_b) (Dowson & Landau 1982; FID,
    Heusel et al. 2017): ``|m_a - m_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2))``. The trace of the
    square root is computed in float64 as the sum of square roots of the eigenvalues of the
    symmetric matrix ``C_a^(1/2) C_b C_a^(1/2)``, which has the same spectrum."""
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.atleast_2d(np.asarray(cov_a, np.float64)), np.atleast_2d(np.asarray(cov_b, np.float64))
    values, vectors = np.linalg.eigh((cov_a + cov_a.T) / 2)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.linalg.eigvalsh((middle + middle.T) / 2).clip(min=0)).sum()
    difference = mean_a - mean_b
    return float(difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root)


def frechet_distance_of_features(features_a: Tensor | np.ndarray, features_b: Tensor | np.ndarray) -> float:
    """:func:`frechet_distance` of Gaussians fitted to two feature sets ``[N, D]``."""
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


def kernel_distance(features_a: Tensor, features_b: Tensor, num_subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> float:
    """KID (Binkowski et al. 2018): the unbiased estimate of MMD^2 with the kernel
    ``k(x, y) = (x.y / D + 1)^3``, averaged over ``num_subsets`` random subsets of
    ``min(subset_size, N_a, N_b)`` vectors of each set (the defaults of the paper's code)."""
    a, b = torch.as_tensor(features_a, dtype=torch.float64), torch.as_tensor(features_b, dtype=torch.float64)
    size = min(subset_size, a.shape[0], b.shape[0])
    if size < 2:
        raise UserError("KID needs at least 2 feature vectors per set")
    dimension, generator, estimates = a.shape[1], torch.Generator().manual_seed(seed), []
    for _ in range(num_subsets):
        x = a[torch.randperm(a.shape[0], generator=generator)[:size]]
        y = b[torch.randperm(b.shape[0], generator=generator)[:size]]
        k_xx, k_yy, k_xy = ((p @ q.T / dimension + 1.0) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        off_diagonal = (k_xx.sum() - k_xx.trace() + k_yy.sum() - k_yy.trace()) / (size * (size - 1))
        estimates.append(off_diagonal - 2.0 * k_xy.mean())
    return float(torch.stack(estimates).mean())


def precision_recall(real_features: Tensor, fake_features: Tensor, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019). Each real vector spans a ball of
    radius its distance to its k-th nearest other real vector (k = 3 as in the paper); precision is
    the fraction of fake vectors inside at least one real ball, recall the fraction of real vectors
    inside at least one ball of the fake set built the same way. A set against itself scores 1."""
    real, fake = real_features.flatten(1).double(), fake_features.flatten(1).double()
    if min(real.shape[0], fake.shape[0]) <= k:
        raise UserError(f"precision/recall with k={k} needs more than {k} vectors per set")

    def chunks(points: Tensor) -> list[Tensor]:  # rows in blocks of at most ~4M distances
        size = max(1, 4_000_000 // max(real.shape[0], fake.shape[0]))
        return list(points.split(size))

    def distances(a: Tensor, b: Tensor) -> Tensor:  # exact (no matmul shortcut): a point is at 0 from itself
        return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")

    def radii(points: Tensor) -> Tensor:  # the 1st nearest is the point itself
        return torch.cat([distances(block, points).kthvalue(k + 1, dim=1).values for block in chunks(points)])

    def coverage(manifold: Tensor, manifold_radii: Tensor, probes: Tensor) -> float:
        inside = [(distances(block, manifold) <= manifold_radii[None, :]).any(dim=1) for block in chunks(probes)]
        return float(torch.cat(inside).double().mean())

    return {"precision": coverage(real, radii(real), fake), "recall": coverage(fake, radii(fake), real)}


__all__ = ["feature_statistics", "frechet_distance", "frechet_distance_of_features", "kernel_distance",
           "precision_recall"]
