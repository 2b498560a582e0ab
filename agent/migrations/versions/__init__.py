"""One module per schema revision, oldest first along each module's `down_revision`."""
