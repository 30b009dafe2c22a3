"""The pure core: domain types and the sharing decision, with no I/O and no framework imports."""
