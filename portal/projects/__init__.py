"""Government-purchased services and 公益创投 projects, bids and expert review (issue 6)."""
