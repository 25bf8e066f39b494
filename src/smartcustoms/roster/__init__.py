"""The roster: officers' qualifications, workload caps and duty, and the sunshine dispatch draw."""
