"""Keep samples in memory after their first load (``data.cache: true``).

Worth it for a small synthetic training set visited for many epochs: rendering is then paid
once per scene instead of once per epoch. The trainer calls :meth:`CachedDataset.fill` in the
main process before the DataLoader forks its workers, so every worker shares the one cache.
"""

from __future__ import annotations

from collections.abc import Sized

from torch.utils.data import Dataset

from perception.data.sample import Sample


class CachedDataset(Dataset[Sample]):
    """Wraps a map-style dataset; ``dataset[i]`` is loaded once and then served from memory."""

    def __init__(self, dataset: Dataset[Sample]) -> None:
        if not isinstance(dataset, Sized):
            raise ValueError("CachedDataset needs a map-style dataset with __len__")
        self.dataset = dataset
        self._cache: dict[int, Sample] = {}

    def __len__(self) -> int:
        assert isinstance(self.dataset, Sized)
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        sample = self._cache.get(index)
        if sample is None:
            sample = self._cache[index] = self.dataset[index]
        return sample

    def fill(self) -> None:
        """Load every item now (in this process), so forked workers share the cache."""
        for index in range(len(self)):
            self[index]
