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


def volume_scan_links(scan_id: str) -> dict[str, str]:
    """A volume's extra links; ``{k}`` stands for the axial slice number (0 = most inferior)."""
    base = f"/api/scans/{scan_id}"
    return {
        "ground_truth": f"{base}/ground-truth.nii.gz",
        "ground_truth_volume": f"{base}/ground-truth.nii.gz",
        "slice_image": f"{base}/slices/{{k}}/image.png",
        "slice_ground_truth": f"{base}/slices/{{k}}/ground-truth.png",
    }


def volume_result_links(scan_id: str, model: str, has_seg: bool, has_attention: bool) -> dict[str, str]:
    base = f"/api/scans/{scan_id}"
    links = {"mask": f"{base}/masks/{model}.nii.gz", "slice_mask": f"{base}/slices/{{k}}/masks/{model}.png"}
    if has_seg:
        links["seg"] = f"{base}/masks/{model}.dcm"
    if has_attention:
        links["slice_attention"] = f"{base}/slices/{{k}}/attention.png"
    return links
