"""The URLs a scan's JSON points to (names other tools rely on)."""

from __future__ import annotations


def scan_links(scan_id: str) -> dict[str, str]:
    base = f"/api/scans/{scan_id}"
    return {
        "self": base,
        "events": f"{base}/events",
        "image": f"{base}/image",
        "ground_truth": f"{base}/ground-truth",
    }


def result_links(scan_id: str, model: str, has_attention: bool) -> dict[str, str]:
    base = f"/api/scans/{scan_id}"
    links = {"mask": f"{base}/masks/{model}", "probability": f"{base}/probability/{model}"}
    if has_attention:
        links["attention"] = f"{base}/attention"
    return links
