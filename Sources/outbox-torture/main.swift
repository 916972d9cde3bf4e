// Filled in by the crash-safety step.
print("outbox-torture: not implemented yet")
