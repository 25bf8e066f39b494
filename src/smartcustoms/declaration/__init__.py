"""The declaration aggregate: intake, validation, lifecycle, amendments, documents."""
