"""Reading Prometheus's text format in tests: samples by name and labels, and differences between scrapes."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by (sample name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when absent (a labelled series appears at its first increment)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scraper(get_text: Callable[[], str]) -> Callable[[], Samples]:
    return lambda: parse(get_text())
