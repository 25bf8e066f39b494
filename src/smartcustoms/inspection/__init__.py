"""Physical inspection: fixed steps per container with photos, findings, remote assistance."""
